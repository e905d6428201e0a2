"""The export and the local run against the local platform's BigQuery emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmops import contract
from llmops.backends.bigquery import BigQueryTableStore
from llmops.cli import pipelines as cli
from llmops.local import LocalPlatform
from llmops.pipelines import feedback, formats
from llmops.pipelines.prepare import prepare
from llmops.pipelines.split import normalise_prompt
from llmops.targets import Target
from tests.pipelines import seed

COPIES = 5


@pytest.fixture
def seeded(local_tables: BigQueryTableStore) -> BigQueryTableStore:
    """A fresh dataset holding the seeded interactions and feedback."""
    interactions, rows = seed.rows(copies=COPIES)
    local_tables.insert(contract.TABLE_INTERACTIONS, interactions)
    local_tables.insert(contract.TABLE_FEEDBACK, rows)
    return local_tables


@pytest.fixture
def kfp_local_reset() -> Iterator[None]:
    """Forget kfp.local's global session after the test."""
    from kfp.local import config

    yield
    config.LocalExecutionConfig.instance = None


def _prompts(text: str, fmt: str) -> set[str]:
    validated = formats.validate_lines(text.splitlines(), fmt)
    assert validated.dropped_total == 0
    return {normalise_prompt(formats.prompt_of(r, fmt)) for r in validated.records}


@pytest.mark.parametrize(
    ("kind", "fmt"),
    [
        ("preference", formats.RLHF),
        ("preference", formats.GEMINI_PREFERENCE),
        ("supervised", formats.GEMINI_SFT),
    ],
)
def test_export_from_the_seeded_table_gives_valid_split_jsonl(
    seeded: BigQueryTableStore, kind: str, fmt: str
) -> None:
    """Each tuner gets valid JSONL; malformed rows are counted; splits are disjoint."""
    prepared = prepare(
        seeded, pipeline="test", kind=kind, tuner_format=fmt, use_case=seed.USE_CASE
    )

    expected_records = (
        COPIES * seed.EXPECTED["pairs" if kind == "preference" else "examples"]
    )
    dropped = seed.EXPECTED[
        "pair_dropped" if kind == "preference" else "example_dropped"
    ]
    assert prepared.train_rows + prepared.eval_rows == expected_records
    assert prepared.rows_read == COPIES * 10
    assert dict(prepared.dropped) == {k: COPIES * v for k, v in dropped.items()}
    train = _prompts(prepared.train_jsonl, fmt)
    evaluation = _prompts(prepared.eval_jsonl, fmt)
    assert train and evaluation
    assert train.isdisjoint(evaluation)
    if fmt == formats.RLHF:
        prompts = [json.loads(line) for line in prepared.prompts_jsonl.splitlines()]
        assert {normalise_prompt(p["input_text"]) for p in prompts} == train
    assert f"Training rows: {prepared.train_rows}" in prepared.data_card
    for reason, count in dropped.items():
        assert f"| {reason} | {COPIES * count} |" in prepared.data_card


def test_only_feedback_after_the_last_run_counts_as_new(
    seeded: BigQueryTableStore,
) -> None:
    """The continuous-feedback gate counts labelled rows after the last run."""
    labelled = len(feedback.fetch_labelled(seeded, use_case=seed.USE_CASE))
    assert (
        feedback.count_new_labelled(
            seeded, use_case=seed.USE_CASE, pipeline="preference-tuning"
        )
        == labelled
    )

    last_feedback = seed.START + timedelta(hours=1, minutes=COPIES * 100)
    seeded.insert(
        contract.TABLE_EVALUATIONS,
        [
            {
                "evaluation_id": "run-1",
                "evaluation_time": (last_feedback - timedelta(minutes=150)).isoformat(),
                "pipeline": "preference-tuning",
                "use_case": seed.USE_CASE,
                "model_name": seed.MODEL,
                "metric": "examples",
                "value": 1.0,
            }
        ],
    )

    newer = feedback.count_new_labelled(
        seeded, use_case=seed.USE_CASE, pipeline="preference-tuning"
    )
    assert 0 < newer < labelled
    assert (
        feedback.count_new_labelled(
            seeded, use_case=seed.USE_CASE, pipeline="supervised-tuning"
        )
        == labelled
    )


def test_local_run_of_the_preference_pipeline_writes_its_files(
    local_emulators: LocalPlatform,
    seeded: BigQueryTableStore,
    tmp_path: Path,
    kfp_local_reset: None,
) -> None:
    """kfp.local runs preparation and evaluation on the platform's tables."""
    run = cli.run_local(
        "preference-tuning",
        project="local",
        dataset=seeded.dataset,
        bigquery_endpoint=local_emulators.bigquery_endpoint,
        use_case=seed.USE_CASE,
        output_dir=tmp_path / "out",
    )

    assert run.model == seed.MODEL
    assert run.rows["train"] + run.rows["evaluation"] == COPIES * seed.EXPECTED["pairs"]
    assert run.rows["evaluation"] > 0
    train = _prompts(run.files["train"].read_text(), formats.GEMINI_PREFERENCE)
    held = _prompts(run.files["evaluation"].read_text(), formats.GEMINI_PREFERENCE)
    assert train.isdisjoint(held)
    assert (
        "Data card: preference-tuning for support" in run.files["data_card"].read_text()
    )

    # Every held-out prompt has a logged answer, scored with similarity too.
    report = json.loads(run.files["report"].read_text())
    assert report["examples"] == run.rows["evaluation"] == run.rows["evaluated"]
    metrics = {c["metric"]: c["value"] for c in report["comparisons"]}
    assert 0.0 < metrics["embedding_similarity"] <= 1.0
    assert 0.0 <= metrics["token_f1"] <= 1.0

    rows = seeded.query(
        "SELECT metric, value, examples FROM {dataset}.evaluations "
        "WHERE evaluation_id = @id",
        {"id": report["evaluation_id"]},
    )
    recorded = {row["metric"]: row["value"] for row in rows}
    assert recorded["examples"] == run.rows["evaluation"]
    assert recorded["token_f1"] == pytest.approx(metrics["token_f1"])
    assert not [p for p in (tmp_path / "out").iterdir() if p.is_dir()]


def test_run_local_command_prints_counts_and_the_skipped_steps(
    local_emulators: LocalPlatform,
    seeded: BigQueryTableStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kfp_local_reset: None,
) -> None:
    """The command names the skipped managed steps and prints the row counts."""
    env = {**local_emulators.env(), contract.ENV_BIGQUERY_DATASET: seeded.dataset}
    monkeypatch.setattr(
        cli, "local_target", lambda folder: Target("local", "test", env, {})
    )

    result = CliRunner().invoke(
        cli.command,
        [
            "run-local",
            "supervised-tuning",
            "--use-case",
            seed.USE_CASE,
            "--output-dir",
            str(tmp_path),
            "--no-similarity",
        ],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    for step in ("tune-gemini (Gemini supervised tuning)", "evaluate-tuned"):
        assert f"skipped {step}: it needs Vertex AI" in result.output
    train_rows = sum(1 for _ in (tmp_path / "train.jsonl").open())
    eval_rows = sum(1 for _ in (tmp_path / "evaluation.jsonl").open())
    assert train_rows + eval_rows == COPIES * seed.EXPECTED["examples"]
    assert (
        f"training file: {tmp_path / 'train.jsonl'} ({train_rows} rows)"
        in result.output
    )
    assert f"({eval_rows} rows" in result.output
    assert (tmp_path / "data_card.md").is_file()
    report = json.loads((tmp_path / "evaluation_report.json").read_text())
    assert all(c["metric"] != "embedding_similarity" for c in report["comparisons"])


def test_run_local_without_interactions_says_what_to_do(
    local_emulators: LocalPlatform,
    local_tables: BigQueryTableStore,
    tmp_path: Path,
    kfp_local_reset: None,
) -> None:
    """An empty dataset gives a clear error instead of empty files."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match=r"`llmops demo` logs under use case"):
        cli.run_local(
            "evaluation",
            project="local",
            dataset=local_tables.dataset,
            bigquery_endpoint=local_emulators.bigquery_endpoint,
            use_case=seed.USE_CASE,
            output_dir=tmp_path,
        )


def test_run_local_for_another_use_case_names_those_with_interactions(
    local_emulators: LocalPlatform,
    seeded: BigQueryTableStore,
    tmp_path: Path,
    kfp_local_reset: None,
) -> None:
    """A use case without interactions is refused, pointing at one that has some."""
    from llmops.errors import InputError

    with pytest.raises(
        InputError, match=rf"use case 'billing' .*pass --use-case {seed.USE_CASE}"
    ):
        cli.run_local(
            "preference-tuning",
            project="local",
            dataset=seeded.dataset,
            bigquery_endpoint=local_emulators.bigquery_endpoint,
            use_case="billing",
            output_dir=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []


def test_seed_timestamps_are_in_the_past() -> None:
    """The seeded rows predate now, so no run of the gate sees future rows."""
    assert datetime.now(UTC) > seed.START


def test_local_run_of_the_evaluation_pipeline_records_the_run(
    local_emulators: LocalPlatform,
    seeded: BigQueryTableStore,
    tmp_path: Path,
    kfp_local_reset: None,
) -> None:
    """The evaluation template scores the held-out supervised split and records it."""
    run = cli.run_local(
        "evaluation",
        project="local",
        dataset=seeded.dataset,
        bigquery_endpoint=local_emulators.bigquery_endpoint,
        use_case=seed.USE_CASE,
        output_dir=tmp_path,
        similarity=False,
    )

    assert run.skipped == ()
    expected = prepare(
        seeded,
        pipeline="evaluation",
        kind="supervised",
        tuner_format=formats.GEMINI_SFT,
        use_case=seed.USE_CASE,
    )
    assert run.rows["evaluation"] == expected.eval_rows > 0
    assert run.rows["evaluated"] == expected.eval_rows
    rows = seeded.query(
        "SELECT DISTINCT pipeline, model_name FROM {dataset}.evaluations", {}
    )
    assert rows == [{"pipeline": "evaluation", "model_name": seed.MODEL}]


def test_run_local_names_a_template_filter_that_matches_nothing(
    local_emulators: LocalPlatform,
    seeded: BigQueryTableStore,
    tmp_path: Path,
    kfp_local_reset: None,
) -> None:
    """A --template-name with no interactions is blamed, not the use case."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match="no interactions of template 'nosuch'"):
        cli.run_local(
            "preference-tuning",
            project="local",
            dataset=seeded.dataset,
            bigquery_endpoint=local_emulators.bigquery_endpoint,
            use_case=seed.USE_CASE,
            output_dir=tmp_path,
            template_name="nosuch",
        )
    with pytest.raises(InputError, match="is not a use-case name"):
        cli.run_local(
            "preference-tuning",
            project="local",
            dataset=seeded.dataset,
            bigquery_endpoint=local_emulators.bigquery_endpoint,
            use_case="NoSuch_Case",
            output_dir=tmp_path,
        )
