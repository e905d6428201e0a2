"""Data cards and model cards, written as Markdown next to the artifacts.

A data card says where a training set came from, by which rule, what was
dropped and why, and how it was split. A model card says what was tuned from
what, on which data, and how it scored against the current model. Neither
quotes a prompt or a response.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from llmops.pipelines.metrics import Comparison


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a file's text, to tie a card to the exact file."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class DataCard:
    """What a data card records about one exported, validated, split dataset."""

    pipeline: str
    use_case: str
    tuner_format: str
    rule: str
    source_tables: Sequence[str]
    rows_read: int
    records_by_source: Mapping[str, int]
    dropped: Mapping[str, int]
    train_rows: int
    eval_rows: int
    eval_fraction: float
    split_salt: str
    train_sha256: str
    eval_sha256: str
    template_name: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


def _table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def render_data_card(card: DataCard) -> str:
    """The data card as Markdown."""
    lines = [
        f"# Data card: {card.pipeline} for {card.use_case}",
        "",
        f"- Created: {card.created.isoformat()}",
        f"- Source tables: {', '.join(card.source_tables)}",
        f"- Template filter: {card.template_name or 'all templates'}",
        f"- Rule: {card.rule}",
        f"- Tuner format: `{card.tuner_format}`",
        f"- Rows read: {card.rows_read}",
        f"- Training rows: {card.train_rows} (sha256 `{card.train_sha256}`)",
        f"- Evaluation rows: {card.eval_rows} (sha256 `{card.eval_sha256}`)",
        (
            f"- Hold-out: {card.eval_fraction:.0%} of prompts by SHA-256 of the "
            f"normalised prompt, salt `{card.split_salt}`; no prompt is in both "
            "splits"
        ),
        "",
        "## Records by source",
        "",
        *_table(("source", "records"), sorted(card.records_by_source.items())),
        "",
        "## Dropped rows",
        "",
        *(
            _table(("reason", "rows"), sorted(card.dropped.items()))
            if card.dropped
            else ["None."]
        ),
        "",
        "## Content",
        "",
        (
            "Prompts and responses logged by the use case, and the corrections "
            "and choices its users gave. Rows are pseudonymous; review the use "
            "case's data classification before sharing the files."
        ),
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class ModelCard:
    """What a model card records about one tuning run."""

    pipeline: str
    use_case: str
    base_model: str
    tuner: str
    tuned_model: str
    endpoint: str
    train_rows: int
    eval_rows: int
    data_card_sha256: str
    comparisons: Sequence[Comparison]
    baseline_model: str
    labels: Mapping[str, str] = field(default_factory=dict)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


def render_model_card(card: ModelCard) -> str:
    """The model card as Markdown."""
    metric_rows = [
        (
            item.metric,
            f"{item.value:.4f}",
            "" if item.baseline is None else f"{item.baseline:.4f}",
            "" if item.delta is None else f"{item.delta:+.4f}",
        )
        for item in card.comparisons
    ]
    lines = [
        f"# Model card: {card.tuned_model or 'not tuned'}",
        "",
        f"- Created: {card.created.isoformat()}",
        f"- Pipeline: {card.pipeline}",
        f"- Use case: {card.use_case}",
        f"- Base model: {card.base_model}",
        f"- Tuner: {card.tuner}",
        f"- Endpoint: {card.endpoint or 'not deployed'}",
        f"- Training rows: {card.train_rows}; evaluation rows: {card.eval_rows}",
        f"- Data card sha256: `{card.data_card_sha256}`",
        "- Labels: "
        + (", ".join(f"{k}={v}" for k, v in sorted(card.labels.items())) or "none"),
        "",
        f"## Evaluation against {card.baseline_model}",
        "",
        *(
            _table(("metric", "value", "baseline", "delta"), metric_rows)
            if metric_rows
            else ["No evaluation was run."]
        ),
        "",
        "## Intended use and limits",
        "",
        (
            f"Tuned for the {card.use_case} use case on its own feedback. The "
            "held-out split is drawn from the same feedback, so the scores above "
            "measure agreement with those users, not general quality."
        ),
        "",
    ]
    return "\n".join(lines)
