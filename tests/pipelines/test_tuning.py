"""Managed tuning and generated answers, against a recording Gen AI client."""

from __future__ import annotations

import pytest

from llmops.errors import InputError, TransientError
from llmops.pipelines.tuning import (
    METHOD_PREFERENCE,
    generated_answers,
    tune_gemini,
)
from tests.pipelines.fakes import RecordingGenAiClient


def _tune(client: RecordingGenAiClient, **overrides: object):
    values = {
        "method": METHOD_PREFERENCE,
        "base_model": "gemini-2.5-flash",
        "train_uri": "gs://root/run/train",
        "eval_uri": "gs://root/run/evaluation",
        "display_name": "tuned",
        "epochs": 2,
        "labels": {"use-case": "support"},
        "poll_seconds": 5,
        "sleep": lambda seconds: None,
    }
    values.update(overrides)
    return tune_gemini(client, **values)  # type: ignore[arg-type]


def test_a_tuning_job_is_started_with_the_datasets_and_awaited() -> None:
    """The job gets both datasets, the method and labels; its model is returned."""
    client = RecordingGenAiClient(
        ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]
    )

    tuned = _tune(client)

    (call,) = client.tunings.calls
    assert call["base_model"] == "gemini-2.5-flash"
    assert call["training_dataset"].gcs_uri == "gs://root/run/train"
    config = call["config"]
    assert config.method.value == "PREFERENCE_TUNING"
    assert config.validation_dataset.gcs_uri == "gs://root/run/evaluation"
    assert config.epoch_count == 2
    assert config.labels == {"use-case": "support"}
    assert client.tunings.gets == 2
    assert tuned.endpoint == "projects/p/locations/l/endpoints/8"


def test_a_failed_job_raises_naming_its_state() -> None:
    """A job that ends as failed raises InputError with its state and error."""
    client = RecordingGenAiClient(["JOB_STATE_RUNNING", "JOB_STATE_FAILED"])

    with pytest.raises(InputError, match="JOB_STATE_FAILED.*bad dataset"):
        _tune(client)


def test_a_job_past_its_timeout_raises_transient_error() -> None:
    """Polling stops at the timeout; the job is left running."""
    client = RecordingGenAiClient(["JOB_STATE_RUNNING"])

    with pytest.raises(TransientError, match="did not finish"):
        _tune(client, timeout_seconds=12)
    assert client.tunings.gets == 3


def test_an_unknown_method_is_refused_before_any_call() -> None:
    """Only supervised and preference tuning are started."""
    client = RecordingGenAiClient(["JOB_STATE_SUCCEEDED"])

    with pytest.raises(InputError, match="DISTILLATION"):
        _tune(client, method="DISTILLATION")
    assert client.tunings.calls == []


def test_generated_answers_flag_blocked_responses() -> None:
    """Each prompt is asked once; a safety stop marks the answer blocked."""
    client = RecordingGenAiClient([], answers={"q1": "a1"}, blocked=frozenset({"q2"}))

    answers = generated_answers(client, "endpoint", ["q1", "q2"])

    assert client.models.prompts == ["q1", "q2"]
    assert answers["q1"].text == "a1" and not answers["q1"].blocked
    assert answers["q2"].blocked
