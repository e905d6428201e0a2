"""Checks on pipeline parameters, run as the first task of every template.

Names follow Vertex AI's patterns: pipeline and job names are lowercase
letters, digits and dashes (at most 128); label keys start with a lowercase
letter and, like values, hold at most 63 lowercase letters, digits,
underscores and dashes; at most 64 labels. Every problem is reported at
once, each naming the parameter and what to pass instead.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from llmops import contract
from llmops.errors import InputError
from llmops.pipelines import formats
from llmops.pipelines.feedback import (
    DEFAULT_MIN_ACCEPTED_SCORE,
    DEFAULT_MIN_SCORE_GAP,
    THUMBS_DOWN_SCORE,
    THUMBS_UP_SCORE,
)
from llmops.pipelines.split import MAX_EVAL_FRACTION

PIPELINE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64
DATASET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
PROJECT = re.compile(r"^[a-z][a-z0-9.:-]{3,62}$|^local$")
LOCATION = re.compile(r"^[a-z]+(-[a-z]+[0-9]+)?$")
MAX_DISPLAY_NAME = 128
# gs://BUCKET/OBJECT, as the evaluation reads it through the /gcs mount.
GCS_URI = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^\s]*[^/\s]")
# Feedback scores lie on this scale (ratings 1 to 5, thumbs 1 or 5).
MIN_SCORE = THUMBS_DOWN_SCORE
MAX_SCORE = THUMBS_UP_SCORE

# (export kind, tuner) -> the JSONL format that tuner reads.
TUNER_FORMATS = {
    ("preference", "gemini"): formats.GEMINI_PREFERENCE,
    ("preference", "rlhf"): formats.RLHF,
    ("supervised", "gemini"): formats.GEMINI_SFT,
}
PREDICTION_SOURCES = ("replay", "generate")
EMBEDDING_BACKENDS = ("", "local", "vertex")


def tuner_format(kind: str, tuner: str) -> str:
    """The JSONL format a tuner reads for an export kind; InputError if none."""
    try:
        return TUNER_FORMATS[(kind, tuner)]
    except KeyError:
        known = ", ".join(f"{k}/{t}" for k, t in TUNER_FORMATS)
        raise InputError(
            f"tuner {tuner!r} does not take {kind!r} data; choose one of {known}"
        ) from None


def label_problems(labels: Mapping[str, Any]) -> list[str]:
    """What is wrong with a label set under Vertex's rules."""
    if not isinstance(labels, Mapping):
        return [
            f'labels: {labels!r} is not a JSON object; pass e.g. {{"team": "support"}}'
        ]
    problems = []
    if len(labels) > MAX_LABELS:
        problems.append(f"labels: {len(labels)} given, at most {MAX_LABELS} allowed")
    for key, value in labels.items():
        if not LABEL_KEY.match(str(key)):
            problems.append(
                f"labels: key {key!r} must start with a lowercase letter and hold "
                "at most 63 lowercase letters, digits, '_' or '-'"
            )
        if not isinstance(value, str):
            problems.append(
                f"labels: value {value!r} of {key!r} is not a string; quote it, "
                'e.g. {"team": "support"}'
            )
        elif not LABEL_VALUE.match(value):
            problems.append(
                f"labels: value {value!r} of {key!r} must hold at most 63 "
                "lowercase letters, digits, '_' or '-'"
            )
    return problems


def _common(*, project: str, location: str, dataset: str, use_case: str) -> list[str]:
    problems = []
    if not PROJECT.match(project):
        problems.append(
            f"project: {project!r} is not a Google Cloud project id; leave the "
            "default so Vertex fills in the pipeline's project"
        )
    if not LOCATION.match(location):
        problems.append(
            f"location: {location!r} is not a region such as europe-west4; "
            "leave the default so Vertex fills in the pipeline's region"
        )
    if not DATASET.match(dataset):
        problems.append(
            f"dataset: {dataset!r} is not a BigQuery dataset name; pass the "
            "stack's bigqueryDataset output"
        )
    if not contract.USE_CASE_NAME.fullmatch(use_case):
        problems.append(f"use_case: {use_case!r} must be {contract.USE_CASE_RULE}")
    return problems


def _finite(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _template_version(template_version: Any) -> list[str]:
    if isinstance(template_version, bool) or not isinstance(template_version, int):
        return [
            f"template_version: {template_version!r} is not a whole number; pass "
            "0 (any) or a version"
        ]
    if template_version < 0:
        return [
            f"template_version: must be 0 (any) or a version, got {template_version}"
        ]
    return []


def _embedding_backend(embedding_backend: Any) -> list[str]:
    if embedding_backend not in EMBEDDING_BACKENDS:
        return [
            "embedding_backend: must be local, vertex or empty (no similarity), "
            f"got {embedding_backend!r}"
        ]
    return []


def _eval_fraction(eval_fraction: Any) -> list[str]:
    if not _finite(eval_fraction) or not 0 < eval_fraction <= MAX_EVAL_FRACTION:
        return [
            f"eval_fraction: must be above 0 and at most {MAX_EVAL_FRACTION}, "
            f"got {eval_fraction}"
        ]
    return []


def _min_score_gap(min_score_gap: Any) -> list[str]:
    # A gap of 0 would pair tied responses; above the scale's width, none pair.
    widest = MAX_SCORE - MIN_SCORE
    if not _finite(min_score_gap) or not 0 < min_score_gap <= widest:
        return [
            f"min_score_gap: must be above 0 and at most {widest:g} (scores run "
            f"from {MIN_SCORE:g} to {MAX_SCORE:g}), got {min_score_gap}; pass e.g. "
            f"{DEFAULT_MIN_SCORE_GAP:g}"
        ]
    return []


def _min_accepted_score(min_accepted_score: Any) -> list[str]:
    if not _finite(min_accepted_score) or not (
        MIN_SCORE <= min_accepted_score <= MAX_SCORE
    ):
        return [
            f"min_accepted_score: must be between {MIN_SCORE:g} and {MAX_SCORE:g} "
            f"(the feedback score scale), got {min_accepted_score}; pass e.g. "
            f"{DEFAULT_MIN_ACCEPTED_SCORE:g}"
        ]
    return []


def _eval_dataset_uri(eval_dataset_uri: Any) -> list[str]:
    if eval_dataset_uri and not (
        isinstance(eval_dataset_uri, str) and GCS_URI.fullmatch(eval_dataset_uri)
    ):
        return [
            f"eval_dataset_uri: {eval_dataset_uri!r} is not a Cloud Storage file "
            "such as gs://BUCKET/eval.jsonl; pass a Gemini SFT JSONL there or "
            "leave it empty to use the held-out split"
        ]
    return []


def run_check(
    check: Callable[..., None], values: Mapping[str, Any], **fixed: Any
) -> None:
    """Call ``check`` with the run's values for the parameters it takes.

    ``fixed`` gives what the template itself sets (its name, kind, tuner)
    rather than a run parameter. Used before submitting, so that the checks
    of a template's first task run on the command line too.
    """
    arguments: dict[str, Any] = {}
    for name, parameter in inspect.signature(check).parameters.items():
        if name in fixed:
            arguments[name] = fixed[name]
        elif name in values or parameter.default is inspect.Parameter.empty:
            arguments[name] = values[name]
    check(**arguments)


def _raise(template: str, problems: list[str]) -> None:
    if problems:
        raise InputError(f"{template} parameters are invalid: " + "; ".join(problems))


def check_tuning(
    *,
    template: str,
    project: str,
    location: str,
    dataset: str,
    use_case: str,
    kind: str,
    tuner: str,
    base_model: str,
    tuned_model_display_name: str,
    eval_fraction: float,
    min_new_examples: int,
    epochs: int,
    labels: Mapping[str, Any],
    template_version: int = 0,
    embedding_backend: str = "",
    min_score_gap: float = DEFAULT_MIN_SCORE_GAP,
    min_accepted_score: float = DEFAULT_MIN_ACCEPTED_SCORE,
) -> None:
    """Raise InputError listing every problem with a tuning run's parameters.

    ``min_score_gap`` matters to preference data and ``min_accepted_score``
    to supervised data; each template passes its own and leaves the other's
    default.
    """
    problems = _common(
        project=project, location=location, dataset=dataset, use_case=use_case
    )
    if (kind, tuner) not in TUNER_FORMATS:
        known = ", ".join(t for k, t in TUNER_FORMATS if k == kind) or "none"
        problems.append(f"tuner: {tuner!r} does not take {kind} data; use {known}")
    if not base_model.strip():
        problems.append(
            "base_model: must name the model to tune, e.g. gemini-2.5-flash"
        )
    if not 0 < len(tuned_model_display_name) <= MAX_DISPLAY_NAME:
        problems.append(
            "tuned_model_display_name: must hold 1 to "
            f"{MAX_DISPLAY_NAME} characters, got {len(tuned_model_display_name)}"
        )
    problems += _eval_fraction(eval_fraction)
    if min_new_examples < 0:
        problems.append(f"min_new_examples: must be 0 or more, got {min_new_examples}")
    if not 1 <= epochs <= 100:
        problems.append(f"epochs: must be between 1 and 100, got {epochs}")
    problems += _template_version(template_version)
    problems += _embedding_backend(embedding_backend)
    problems += _min_score_gap(min_score_gap)
    problems += _min_accepted_score(min_accepted_score)
    problems += label_problems(labels)
    _raise(template, problems)


def check_evaluation(
    *,
    template: str,
    project: str,
    location: str,
    dataset: str,
    use_case: str,
    model_name: str,
    template_version: int,
    prediction_source: str,
    embedding_backend: str,
    eval_fraction: float,
    baseline_id: str,
    labels: Mapping[str, Any],
    eval_dataset_uri: str = "",
) -> None:
    """Raise InputError listing every problem with an evaluation's parameters."""
    problems = _common(
        project=project, location=location, dataset=dataset, use_case=use_case
    )
    if not model_name.strip():
        problems.append("model_name: must name the model whose answers are scored")
    problems += _template_version(template_version)
    if prediction_source not in PREDICTION_SOURCES:
        problems.append(
            f"prediction_source: must be one of {', '.join(PREDICTION_SOURCES)}, "
            f"got {prediction_source!r}"
        )
    problems += _embedding_backend(embedding_backend)
    problems += _eval_fraction(eval_fraction)
    problems += _eval_dataset_uri(eval_dataset_uri)
    if baseline_id and not PIPELINE_NAME.match(baseline_id):
        problems.append(
            f"baseline_id: {baseline_id!r} is not an evaluation run id (a "
            "pipeline job name)"
        )
    problems += label_problems(labels)
    _raise(template, problems)
