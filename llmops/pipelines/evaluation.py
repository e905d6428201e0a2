"""Run a model over held-out examples, score it and record the run.

Predictions come from one of two places:

- ``replay``: the responses the model already gave for the same prompts, as
  logged in the interactions table (no model call; what the current model
  does in production, and what runs on the embedded default).
- a ``generate`` callable: a fresh answer per prompt, e.g. from a tuned
  model's endpoint.

The run's metrics are written to the evaluations table, one row per metric,
with the baseline run's value beside them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llmops import contract
from llmops.backends.base import Embedder, TableStore
from llmops.pipelines import formats, queries
from llmops.pipelines.metrics import (
    Comparison,
    Example,
    Report,
    evaluate,
    safety_flags,
)
from llmops.pipelines.split import normalise_prompt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """A model's answer to a prompt and what was raised on it."""

    text: str
    blocked: bool = False
    guardrails: int = 0


@dataclass(frozen=True)
class RunInfo:
    """What identifies an evaluation run in the evaluations table."""

    evaluation_id: str
    pipeline: str
    use_case: str
    model_name: str
    template_name: str | None = None
    template_version: int | None = None
    dataset: str | None = None


def held_out(records: Sequence[Mapping[str, Any]], fmt: str) -> list[tuple[str, str]]:
    """(prompt, reference) of each valid held-out record."""
    return [(formats.prompt_of(r, fmt), formats.reference_of(r, fmt)) for r in records]


def replayed_answers(
    store: TableStore,
    *,
    use_case: str,
    model_name: str,
    template_name: str = "",
    template_version: int = 0,
) -> dict[str, Answer]:
    """The newest logged answer per normalised prompt, for replay."""
    rows = store.query(
        queries.sql(queries.LOGGED_RESPONSES),
        {
            "use_case": use_case,
            "model_name": model_name,
            "template_name": template_name,
            "template_version": template_version,
        },
    )
    answers: dict[str, Answer] = {}
    for row in rows:
        key = normalise_prompt(row["prompt"])
        if key not in answers:
            answers[key] = Answer(
                text=row["response"] or "",
                blocked=bool(row.get("blocked")),
                guardrails=int(row.get("guardrail_count") or 0),
            )
    return answers


def examples_from(
    pairs: Sequence[tuple[str, str]],
    answer: Callable[[str], Answer | None],
) -> tuple[list[Example], int]:
    """Examples for the prompts ``answer`` has an answer to, and how many not."""
    examples = []
    missing = 0
    for prompt, reference in pairs:
        got = answer(prompt)
        if got is None:
            missing += 1
            continue
        examples.append(
            Example(
                prompt=prompt,
                reference=reference,
                prediction=got.text,
                flags=safety_flags(
                    got.text, blocked=got.blocked, guardrails=got.guardrails
                ),
            )
        )
    return examples, missing


def replay(answers: Mapping[str, Answer]) -> Callable[[str], Answer | None]:
    """An answer function that looks prompts up in logged answers."""
    return lambda prompt: answers.get(normalise_prompt(prompt))


def run(
    pairs: Sequence[tuple[str, str]],
    answer: Callable[[str], Answer | None],
    embedder: Embedder | None = None,
) -> tuple[Report, int]:
    """Score the answers to the held-out prompts; also return how many lacked one."""
    examples, missing = examples_from(pairs, answer)
    report = evaluate(examples, embedder)
    logger.info(
        "evaluation.scored",
        extra={"fields": {"examples": report.examples, "missing": missing}},
    )
    return report, missing


def current_model(
    store: TableStore, *, use_case: str, template_name: str = ""
) -> str | None:
    """The model the use case called most, or None when it logged no calls."""
    rows = store.query(
        queries.sql(queries.CURRENT_MODEL),
        {"use_case": use_case, "template_name": template_name},
    )
    return str(rows[0]["model_name"]) if rows else None


def baseline_metrics(store: TableStore, evaluation_id: str) -> dict[str, float]:
    """The metrics an earlier run recorded; empty when it recorded none."""
    rows = store.query(
        queries.sql(queries.BASELINE_METRICS), {"evaluation_id": evaluation_id}
    )
    return {
        row["metric"]: float(row["value"]) for row in rows if row["value"] is not None
    }


def evaluation_rows(
    info: RunInfo,
    report: Report,
    comparisons: Sequence[Comparison],
    *,
    baseline_id: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One evaluations-table row per metric of the run."""
    when = (now or datetime.now(UTC)).isoformat()
    # An ``examples`` row marks the run even when no example had an answer,
    # so the continuous-feedback gate counts from it.
    counted = Comparison("examples", float(report.examples), None)
    return [
        {
            "evaluation_id": info.evaluation_id,
            "evaluation_time": when,
            "pipeline": info.pipeline,
            "use_case": info.use_case,
            "template_name": info.template_name,
            "template_version": info.template_version,
            "model_name": info.model_name,
            "dataset": info.dataset,
            "metric": item.metric,
            "value": item.value,
            "examples": report.examples,
            "baseline_id": baseline_id if item.baseline is not None else None,
            "baseline_value": item.baseline,
            "delta": item.delta,
        }
        for item in (counted, *comparisons)
    ]


def record(store: TableStore, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append the run's rows to the evaluations table."""
    if rows:
        store.insert(contract.TABLE_EVALUATIONS, rows)
    logger.info("evaluation.recorded", extra={"fields": {"rows": len(rows)}})
