"""Components called through their plain Python functions, outside Kubeflow."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from llmops import contract
from llmops.backends.bigquery import BigQueryTableStore
from llmops.local import LocalPlatform
from llmops.pipelines import tuning
from pipeline_templates.components import (
    count_new_feedback,
    tune_gemini,
    validate_tuning,
    write_model_card,
)
from tests.pipelines import seed
from tests.pipelines.fakes import RecordingGenAiClient


def test_write_model_card_renders_the_comparison(tmp_path: Path) -> None:
    """The model card holds the tuned model, row counts and metric deltas."""
    data_card = tmp_path / "data_card.md"
    data_card.write_text("# Data card\n")
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "comparisons": [
                    {"metric": "token_f1", "value": 0.75, "baseline": 0.5},
                    {"metric": "examples", "value": 12.0, "baseline": None},
                ]
            }
        )
    )
    card = tmp_path / "model_card.md"

    write_model_card.write_model_card(
        pipeline="preference-tuning",
        use_case="support",
        base_model="gemini-2.5-flash",
        tuner="gemini-preference-tuning",
        tuned_model="projects/p/locations/l/models/9",
        endpoint="projects/p/locations/l/endpoints/8",
        train_rows=40,
        eval_rows=12,
        labels={"team": "care"},
        data_card=SimpleNamespace(path=str(data_card)),
        report=SimpleNamespace(path=str(report)),
        model_card=SimpleNamespace(path=str(card)),
    )

    text = card.read_text()
    assert "# Model card: projects/p/locations/l/models/9" in text
    assert "| token_f1 | 0.7500 | 0.5000 | +0.2500 |" in text
    assert "| examples | 12.0000 |  |  |" in text
    assert "Training rows: 40; evaluation rows: 12" in text
    assert "team=care" in text


def test_tune_gemini_component_passes_its_parameters_to_the_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The component starts the job for the pipeline's project and returns it."""
    client = RecordingGenAiClient(["JOB_STATE_SUCCEEDED"])
    opened: list[tuple[str, str]] = []

    def fake_client(project: str, location: str) -> RecordingGenAiClient:
        opened.append((project, location))
        return client

    monkeypatch.setattr(tuning, "vertex_client", fake_client)

    result = tune_gemini.tune_gemini(
        project="acme",
        location="europe-west4",
        method="SUPERVISED_FINE_TUNING",
        base_model="gemini-2.5-flash",
        train_uri="gs://r/train",
        eval_uri="",
        tuned_model_display_name="tuned",
        epochs=1,
        labels={},
    )

    assert opened == [("acme", "europe-west4")]
    (call,) = client.tunings.calls
    assert call["config"].validation_dataset is None
    assert result.endpoint == "projects/p/locations/l/endpoints/8"


def test_validate_tuning_component_fails_on_bad_parameters() -> None:
    """The first task raises, naming the parameter, when one is invalid."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match="min_new_examples"):
        validate_tuning.validate_tuning(
            template="supervised-tuning",
            project="local",
            location="local",
            dataset="llmops",
            use_case="support",
            kind="supervised",
            tuner="gemini",
            base_model="gemini-2.5-flash",
            tuned_model_display_name="x",
            eval_fraction=0.2,
            min_new_examples=-1,
            epochs=1,
            labels={},
        )


def test_the_gate_opens_at_the_minimum(
    local_emulators: LocalPlatform, local_tables: BigQueryTableStore
) -> None:
    """count-new-feedback is ready once the new labelled rows reach N."""
    interactions, rows = seed.rows()
    local_tables.insert(contract.TABLE_INTERACTIONS, interactions)
    local_tables.insert(contract.TABLE_FEEDBACK, rows)
    common = {
        "project": "local",
        "dataset": local_tables.dataset,
        "bigquery_endpoint": local_emulators.bigquery_endpoint,
        "use_case": seed.USE_CASE,
        "pipeline": "preference-tuning",
    }

    at = count_new_feedback.count_new_feedback(**common, min_new_examples=len(rows))
    above = count_new_feedback.count_new_feedback(
        **common, min_new_examples=len(rows) + 1
    )

    assert at.new_examples == len(rows)
    assert at.ready is True
    assert above.ready is False
