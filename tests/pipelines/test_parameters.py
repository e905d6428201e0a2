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


def _evaluation(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
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
        "baseline_id": "",
        "labels": {},
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"template_version": -5}, "template_version: must be 0"),
        ({"template_version": 1.5}, "template_version: 1.5 is not a whole number"),
        ({"embedding_backend": "bogus"}, "embedding_backend: must be local"),
        ({"min_score_gap": -1.0}, "min_score_gap: must be above 0 and at most 4"),
        ({"min_score_gap": 0.0}, "min_score_gap: must be above 0"),
        ({"min_score_gap": 4.5}, "min_score_gap: must be above 0 and at most 4"),
        ({"min_score_gap": float("inf")}, "min_score_gap: .* got inf"),
        ({"min_score_gap": float("nan")}, "min_score_gap: .* got nan"),
        ({"min_accepted_score": 99.0}, "min_accepted_score: must be between 1 and 5"),
        ({"min_accepted_score": 0.5}, "min_accepted_score: must be between 1"),
        ({"min_accepted_score": float("nan")}, "min_accepted_score: .* got nan"),
        ({"eval_fraction": float("nan")}, "eval_fraction: .* got nan"),
    ],
)
def test_tuning_checks_every_value_it_passes_on(
    overrides: dict[str, Any], fragment: str
) -> None:
    """Template version, embedder, score gap and accepted score are range-checked."""
    with pytest.raises(InputError, match=fragment):
        parameters.check_tuning(**_tuning(**overrides))


def test_tuning_accepts_the_ends_of_the_score_scale() -> None:
    """A gap of the scale's width and an accepted score of 1 or 5 are valid."""
    parameters.check_tuning(
        **_tuning(
            template_version=3,
            embedding_backend="vertex",
            min_score_gap=4.0,
            min_accepted_score=5.0,
        )
    )
    parameters.check_tuning(**_tuning(min_score_gap=0.5, min_accepted_score=1))


@pytest.mark.parametrize(
    "uri", ["not-a-uri", "gs://", "gs://bucket/", "https://x/y.jsonl", "/gcs/b/f"]
)
def test_evaluation_refuses_an_eval_dataset_that_is_not_a_gcs_file(uri: str) -> None:
    """eval_dataset_uri must be empty or a gs://BUCKET/OBJECT file."""
    with pytest.raises(InputError, match="eval_dataset_uri: .* gs://BUCKET"):
        parameters.check_evaluation(**_evaluation(eval_dataset_uri=uri))


def test_evaluation_accepts_a_gcs_eval_dataset() -> None:
    """A Cloud Storage JSONL, or nothing, is accepted."""
    parameters.check_evaluation(
        **_evaluation(eval_dataset_uri="gs://acme-eval/sets/v1.jsonl")
    )
    parameters.check_evaluation(**_evaluation(eval_dataset_uri=""))


@pytest.mark.parametrize(
    "use_case", ["Support", "support_team", "ab", "x" * 21, "support-", "1support"]
)
def test_use_cases_follow_the_contract_rule(use_case: str) -> None:
    """A use case the stack could not declare is refused with the contract's rule."""
    from llmops import contract

    with pytest.raises(InputError) as raised:
        parameters.check_evaluation(**_evaluation(use_case=use_case))
    assert f"use_case: {use_case!r} must be {contract.USE_CASE_RULE}" in str(
        raised.value
    )


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ([1], "labels: \\[1\\] is not a JSON object"),
        ("x", "labels: 'x' is not a JSON object"),
        ({"team": 1}, "value 1 of 'team' is not a string"),
    ],
)
def test_labels_must_be_an_object_of_strings(labels: Any, fragment: str) -> None:
    """Labels that are not a JSON object of strings are refused, not crashed on."""
    with pytest.raises(InputError, match=fragment):
        parameters.check_tuning(**_tuning(labels=labels))
