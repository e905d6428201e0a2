"""Managed tuning on Vertex AI and answers from the tuned model.

Gemini supervised and preference tuning both go through the Gen AI SDK's
tuning jobs (``client.tunings.tune``) on Vertex AI; the client is passed in,
so tests give a recording fake and nothing here dials Google by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmops.errors import InputError, TransientError
from llmops.pipelines.evaluation import Answer

logger = logging.getLogger(__name__)

METHOD_SUPERVISED = "SUPERVISED_FINE_TUNING"
METHOD_PREFERENCE = "PREFERENCE_TUNING"
_DONE = {"JOB_STATE_SUCCEEDED"}
_FAILED = {"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


@dataclass(frozen=True)
class TunedModel:
    """Where a finished tuning job put its model."""

    job: str
    model: str
    endpoint: str


def vertex_client(project: str, location: str) -> Any:
    """A Gen AI SDK client on Vertex AI for the pipeline's project and region."""
    from google import genai

    return genai.Client(vertexai=True, project=project, location=location)


def _state(job: Any) -> str:
    state = getattr(job, "state", None)
    return str(getattr(state, "name", state) or "")


def tune_gemini(
    client: Any,
    *,
    method: str,
    base_model: str,
    train_uri: str,
    eval_uri: str,
    display_name: str,
    epochs: int,
    labels: Mapping[str, str],
    poll_seconds: float = 60.0,
    timeout_seconds: float = 24 * 3600,
    sleep: Callable[[float], None] = time.sleep,
) -> TunedModel:
    """Start a Gemini tuning job and wait for its tuned model."""
    from google.genai import types

    if method not in (METHOD_SUPERVISED, METHOD_PREFERENCE):
        raise InputError(
            f"tuning method {method!r} is not known; use {METHOD_SUPERVISED} or "
            f"{METHOD_PREFERENCE}"
        )
    config = types.CreateTuningJobConfig(
        method=types.TuningMethod(method),
        tuned_model_display_name=display_name,
        epoch_count=epochs,
        labels=dict(labels),
        validation_dataset=(
            types.TuningValidationDataset(gcs_uri=eval_uri) if eval_uri else None
        ),
    )
    job = client.tunings.tune(
        base_model=base_model,
        training_dataset=types.TuningDataset(gcs_uri=train_uri),
        config=config,
    )
    logger.info("tuning.started", extra={"fields": {"job": job.name, "method": method}})

    # Tuning takes from minutes to hours; poll until the job ends.
    waited = 0.0
    while _state(job) not in _DONE | _FAILED:
        if waited >= timeout_seconds:
            raise TransientError(
                f"tuning job {job.name} did not finish in {timeout_seconds:.0f} s; "
                "it keeps running in Vertex AI; raise the timeout or check the job"
            )
        sleep(poll_seconds)
        waited += poll_seconds
        job = client.tunings.get(name=job.name)
    if _state(job) in _FAILED:
        raise InputError(
            f"tuning job {job.name} ended as {_state(job)}: "
            f"{getattr(job, 'error', None)}; fix the dataset or parameters and rerun"
        )
    tuned = job.tuned_model
    logger.info(
        "tuning.done", extra={"fields": {"job": job.name, "model": tuned.model}}
    )
    return TunedModel(
        job=job.name, model=tuned.model or "", endpoint=tuned.endpoint or ""
    )


def generated_answers(
    client: Any, model: str, prompts: Sequence[str]
) -> dict[str, Answer]:
    """A fresh answer from ``model`` (a name or endpoint) for each prompt."""
    answers = {}
    for prompt in prompts:
        response = client.models.generate_content(model=model, contents=prompt)
        feedback = getattr(response, "prompt_feedback", None)
        candidates = getattr(response, "candidates", None) or []
        finish = str(getattr(candidates[0], "finish_reason", "")) if candidates else ""
        blocked = bool(getattr(feedback, "block_reason", None)) or "SAFETY" in finish
        answers[prompt] = Answer(
            text=getattr(response, "text", None) or "", blocked=blocked
        )
    return answers
