"""The data-preparation step: export, format, validate, split, describe.

One call reads the feedback table through a ``TableStore`` and returns the
training and evaluation JSONL in a tuner's format, the RLHF prompt dataset
when that tuner is used, and the data card. The components write these to
their artifacts; tests call this directly.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from llmops import contract
from llmops.backends.base import TableStore
from llmops.errors import InputError
from llmops.pipelines import cards, feedback, formats, split

logger = logging.getLogger(__name__)

KIND_PREFERENCE = "preference"
KIND_SUPERVISED = "supervised"

RULES = {
    KIND_PREFERENCE: (
        "explicit choices, then corrections over the logged response, then the "
        "best-rated response of a prompt over responses rated at least "
        "{gap:g} lower (thumbs up 5, down 1); duplicates kept once, "
        "contradictory pairs dropped"
    ),
    KIND_SUPERVISED: (
        "corrected responses, and logged responses scored at least {accept:g} "
        "(thumbs up 5) that were neither blocked nor corrected; duplicates "
        "kept once"
    ),
}


@dataclass
class Prepared:
    """The prepared files' text and what went into them."""

    train_jsonl: str
    eval_jsonl: str
    prompts_jsonl: str
    data_card: str
    train_rows: int
    eval_rows: int
    rows_read: int
    dropped: Counter[str] = field(default_factory=Counter)


def prepare(
    store: TableStore,
    *,
    pipeline: str,
    kind: str,
    tuner_format: str,
    use_case: str,
    template_name: str = "",
    eval_fraction: float = split.DEFAULT_EVAL_FRACTION,
    split_salt: str = split.DEFAULT_SALT,
    min_score_gap: float = feedback.DEFAULT_MIN_SCORE_GAP,
    min_accepted_score: float = feedback.DEFAULT_MIN_ACCEPTED_SCORE,
    max_example_chars: int = formats.DEFAULT_MAX_EXAMPLE_CHARS,
) -> Prepared:
    """Export the use case's feedback as validated, split tuner JSONL."""
    if kind == KIND_PREFERENCE and tuner_format not in formats.PREFERENCE_FORMATS:
        raise InputError(
            f"tuner format {tuner_format!r} does not take preference pairs; "
            f"choose one of {', '.join(formats.PREFERENCE_FORMATS)}"
        )
    if kind == KIND_SUPERVISED and tuner_format not in formats.SUPERVISED_FORMATS:
        raise InputError(
            f"tuner format {tuner_format!r} does not take supervised examples; "
            f"choose one of {', '.join(formats.SUPERVISED_FORMATS)}"
        )
    if kind not in RULES:
        raise InputError(
            f"export kind {kind!r} is not known; choose {KIND_PREFERENCE} or "
            f"{KIND_SUPERVISED}"
        )

    # Export by the documented rule.
    rows = feedback.fetch_labelled(
        store, use_case=use_case, template_name=template_name
    )
    records: list[dict[str, Any]]
    if kind == KIND_PREFERENCE:
        exported = feedback.preference_pairs(rows, min_score_gap=min_score_gap)
        records = [formats.preference_record(p, tuner_format) for p in exported.records]
    else:
        exported = feedback.supervised_examples(
            rows, min_accepted_score=min_accepted_score
        )
        records = [formats.supervised_record(e, tuner_format) for e in exported.records]

    # Validate the lines exactly as the tuner will read them.
    validated = formats.validate_lines(
        formats.to_jsonl(records).splitlines(),
        tuner_format,
        max_chars=max_example_chars,
    )
    dropped = Counter(exported.dropped) + validated.dropped

    held = split.split_holdout(
        validated.records,
        lambda record: formats.prompt_of(record, tuner_format),
        fraction=eval_fraction,
        salt=split_salt,
    )
    train_jsonl = formats.to_jsonl(held.train)
    eval_jsonl = formats.to_jsonl(held.evaluation)
    prompts = (
        sorted({formats.prompt_of(r, tuner_format) for r in held.train})
        if tuner_format == formats.RLHF
        else []
    )
    prompts_jsonl = formats.to_jsonl({"input_text": p} for p in prompts)

    card = cards.DataCard(
        pipeline=pipeline,
        use_case=use_case,
        template_name=template_name,
        tuner_format=tuner_format,
        rule=RULES[kind].format(gap=min_score_gap, accept=min_accepted_score),
        source_tables=(contract.TABLE_FEEDBACK, contract.TABLE_INTERACTIONS),
        rows_read=exported.read,
        records_by_source=dict(exported.by_source),
        dropped=dict(dropped),
        train_rows=len(held.train),
        eval_rows=len(held.evaluation),
        eval_fraction=eval_fraction,
        split_salt=split_salt,
        train_sha256=cards.sha256_of(train_jsonl),
        eval_sha256=cards.sha256_of(eval_jsonl),
    )
    logger.info(
        "prepare.done",
        extra={
            "fields": {
                "pipeline": pipeline,
                "use_case": use_case,
                "format": tuner_format,
                "read": exported.read,
                "train": len(held.train),
                "eval": len(held.evaluation),
                "dropped": sum(dropped.values()),
            }
        },
    )
    return Prepared(
        train_jsonl=train_jsonl,
        eval_jsonl=eval_jsonl,
        prompts_jsonl=prompts_jsonl,
        data_card=cards.render_data_card(card),
        train_rows=len(held.train),
        eval_rows=len(held.evaluation),
        rows_read=exported.read,
        dropped=dropped,
    )
