"""Parameter checks that every template runs as its first task."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.errors import InputError
from llmops.pipelines import parameters


def _tuning(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "template": "preference-tuning",
        "project": "my-project-1",
        "location": "europe-west4",
        "dataset": "llmops",
        "use_case": "support",
        "kind": "preference",
        "tuner": "gemini",
        "base_model": "gemini-2.5-flash",
        "tuned_model_display_name": "tuned",
        "eval_fraction": 0.2,
        "min_new_examples": 100,
        "epochs": 3,
        "labels": {"team": "support"},
    }
    values.update(overrides)
    return values


def test_valid_tuning_parameters_pass() -> None:
    """The documented defaults with a use case and dataset are accepted."""
    parameters.check_tuning(**_tuning())


def test_every_problem_is_reported_at_once() -> None:
    """One error names each invalid parameter."""
    with pytest.raises(InputError) as raised:
        parameters.check_tuning(
            **_tuning(
                project="Bad_Project",
                dataset="has-dash",
                tuner="rlhf",
                kind="supervised",
                eval_fraction=0.9,
                epochs=0,
                tuned_model_display_name="x" * 129,
            )
        )

    message = str(raised.value)
    for name in (
        "project",
        "dataset",
        "tuner",
        "eval_fraction",
        "epochs",
        "tuned_model_display_name",
    ):
        assert f"{name}:" in message


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"Team": "a"}, "key 'Team'"),
        ({"1team": "a"}, "key '1team'"),
        ({"team": "A"}, "value 'A'"),
        ({"team": "x" * 64}, "value"),
        ({f"k{i}": "v" for i in range(65)}, "at most 64"),
    ],
)
def test_labels_follow_vertex_rules(labels: dict[str, str], fragment: str) -> None:
    """Label keys and values outside Vertex's patterns are refused."""
    with pytest.raises(InputError, match=fragment):
        parameters.check_tuning(**_tuning(labels=labels))


def test_the_tuner_decides_the_format() -> None:
    """Each (kind, tuner) maps to its tuner's JSONL format or is refused."""
    assert parameters.tuner_format("preference", "rlhf") == "rlhf"
    assert parameters.tuner_format("preference", "gemini") == "gemini_preference"
    assert parameters.tuner_format("supervised", "gemini") == "gemini_sft"
    with pytest.raises(InputError, match="supervised"):
        parameters.tuner_format("supervised", "rlhf")


def test_evaluation_parameters_are_checked() -> None:
    """An unknown answer source or a malformed baseline id is refused."""
    good: dict[str, Any] = {
        "template": "evaluation",
        "project": "local",
        "location": "local",
        "dataset": "llmops",
        "use_case": "support",
        "model_name": "gemini-2.5-flash",
        "template_version": 0,
        "prediction_source": "replay",
        "embedding_backend": "",
        "eval_fraction": 0.2,
        "baseline_id": "llmops-evaluation-20261201-101010",
        "labels": {},
    }
    parameters.check_evaluation(**good)

    with pytest.raises(InputError) as raised:
        parameters.check_evaluation(
            **{**good, "prediction_source": "guess", "baseline_id": "Not An Id"}
        )
    assert "prediction_source:" in str(raised.value)
    assert "baseline_id:" in str(raised.value)
