"""Checks on pipeline parameters, run as the first task of every template.

Names follow Vertex AI's patterns: pipeline and job names are lowercase
letters, digits and dashes (at most 128); label keys start with a lowercase
letter and, like values, hold at most 63 lowercase letters, digits,
underscores and dashes; at most 64 labels. Every problem is reported at
once, each naming the parameter and what to pass instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmops.errors import InputError
from llmops.pipelines import formats
from llmops.pipelines.split import MAX_EVAL_FRACTION

PIPELINE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64
USE_CASE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
DATASET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
PROJECT = re.compile(r"^[a-z][a-z0-9.:-]{3,62}$|^local$")
LOCATION = re.compile(r"^[a-z]+(-[a-z]+[0-9]+)?$")
MAX_DISPLAY_NAME = 128

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
    problems = []
    if len(labels) > MAX_LABELS:
        problems.append(f"labels: {len(labels)} given, at most {MAX_LABELS} allowed")
    for key, value in labels.items():
        if not LABEL_KEY.match(str(key)):
            problems.append(
                f"labels: key {key!r} must start with a lowercase letter and hold "
                "at most 63 lowercase letters, digits, '_' or '-'"
            )
        if not isinstance(value, str) or not LABEL_VALUE.match(value):
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
    if not USE_CASE.match(use_case):
        problems.append(
            f"use_case: {use_case!r} must start with a lowercase letter and hold "
            "at most 63 lowercase letters, digits, '_' or '-'"
        )
    return problems


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
) -> None:
    """Raise InputError listing every problem with a tuning run's parameters."""
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
    if not 0 < eval_fraction <= MAX_EVAL_FRACTION:
        problems.append(
            f"eval_fraction: must be above 0 and at most {MAX_EVAL_FRACTION}, "
            f"got {eval_fraction}"
        )
    if min_new_examples < 0:
        problems.append(f"min_new_examples: must be 0 or more, got {min_new_examples}")
    if not 1 <= epochs <= 100:
        problems.append(f"epochs: must be between 1 and 100, got {epochs}")
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
) -> None:
    """Raise InputError listing every problem with an evaluation's parameters."""
    problems = _common(
        project=project, location=location, dataset=dataset, use_case=use_case
    )
    if not model_name.strip():
        problems.append("model_name: must name the model whose answers are scored")
    if template_version < 0:
        problems.append(
            f"template_version: must be 0 (any) or a version, got {template_version}"
        )
    if prediction_source not in PREDICTION_SOURCES:
        problems.append(
            f"prediction_source: must be one of {', '.join(PREDICTION_SOURCES)}, "
            f"got {prediction_source!r}"
        )
    if embedding_backend not in EMBEDDING_BACKENDS:
        problems.append(
            "embedding_backend: must be local, vertex or empty (no similarity), "
            f"got {embedding_backend!r}"
        )
    if not 0 < eval_fraction <= MAX_EVAL_FRACTION:
        problems.append(
            f"eval_fraction: must be above 0 and at most {MAX_EVAL_FRACTION}, "
            f"got {eval_fraction}"
        )
    if baseline_id and not PIPELINE_NAME.match(baseline_id):
        problems.append(
            f"baseline_id: {baseline_id!r} is not an evaluation run id (a "
            "pipeline job name)"
        )
    problems += label_problems(labels)
    _raise(template, problems)
