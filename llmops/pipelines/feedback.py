"""Turn the feedback table into preference pairs and supervised examples.

The rule for preference pairs, in the order it is applied:

1. An explicit pair: a feedback row with ``candidate_a``, ``candidate_b`` and
   ``preferred`` set to ``a`` or ``b`` gives (prompt, chosen, rejected).
2. A correction: a ``corrected_response`` that differs from the logged
   response is preferred to that response.
3. Ratings: each rated response gets a score on the 1 to 5 scale (``rating``
   as given; thumbs up counts 5, thumbs down 1; several feedback rows on the
   same prompt and response are averaged). Within one prompt, the
   best-scored response is preferred to every other response scored at
   least ``min_score_gap`` lower. Ties and near-ties give no pair.

The same (prompt, chosen, rejected) is kept once. When one prompt has both
"A over B" and "B over A", both are dropped as contradictory.

Supervised examples are (prompt, answer): every correction, and every logged
response that was accepted (score at least ``min_accepted_score``, not
blocked, not corrected).

Rows that cannot be used are dropped and counted by reason; the counts go to
the data card.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmops.backends.base import TableStore
from llmops.pipelines import queries

logger = logging.getLogger(__name__)

THUMBS_UP_SCORE = 5.0
THUMBS_DOWN_SCORE = 1.0
DEFAULT_MIN_SCORE_GAP = 2.0
DEFAULT_MIN_ACCEPTED_SCORE = 4.0

SOURCE_EXPLICIT = "explicit"
SOURCE_CORRECTION = "correction"
SOURCE_RATING = "rating"
SOURCE_ACCEPTED = "accepted"


@dataclass(frozen=True)
class LabelledRow:
    """One feedback row and the interaction it rates, as the export reads it."""

    feedback_id: str
    interaction_id: str
    prompt: str | None
    response: str | None
    thumbs: int | None = None
    rating: int | None = None
    corrected_response: str | None = None
    candidate_a: str | None = None
    candidate_b: str | None = None
    preferred: str | None = None
    blocked: bool | None = None
    template_name: str | None = None
    template_version: int | None = None
    model_name: str | None = None

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> LabelledRow:
        """Build from a query result row; unknown columns are ignored."""
        names = cls.__dataclass_fields__
        return cls(**{key: row.get(key) for key in names})  # type: ignore[arg-type]


@dataclass(frozen=True)
class PreferencePair:
    """A prompt with the response people preferred and the one they did not."""

    prompt: str
    chosen: str
    rejected: str
    source: str


@dataclass(frozen=True)
class SupervisedExample:
    """A prompt and an answer people accepted or wrote."""

    prompt: str
    answer: str
    source: str


@dataclass
class Export:
    """What an export produced, and what it dropped and why."""

    records: list[Any] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    read: int = 0
    by_source: Counter[str] = field(default_factory=Counter)


def fetch_labelled(
    store: TableStore, *, use_case: str, template_name: str = ""
) -> list[LabelledRow]:
    """Read the use case's labelled feedback with each interaction's prompt."""
    rows = store.query(
        queries.sql(queries.LABELLED_FEEDBACK),
        {"use_case": use_case, "template_name": template_name},
    )

    # Interactions are logged at least once; keep the first row per feedback id.
    seen: set[str] = set()
    labelled = []
    for row in rows:
        item = LabelledRow.from_mapping(row)
        if item.feedback_id in seen:
            continue
        seen.add(item.feedback_id)
        labelled.append(item)
    logger.info(
        "export.read",
        extra={"fields": {"use_case": use_case, "rows": len(labelled)}},
    )
    return labelled


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def score(row: LabelledRow) -> float | None:
    """The row's score on the 1 to 5 scale, or None when it is not rated."""
    if row.rating is not None:
        return float(row.rating)
    if row.thumbs is not None and row.thumbs > 0:
        return THUMBS_UP_SCORE
    if row.thumbs is not None and row.thumbs < 0:
        return THUMBS_DOWN_SCORE
    return None


def _rating_problem(row: LabelledRow) -> str | None:
    if row.rating is not None and not 1 <= row.rating <= 5:
        return "rating_out_of_range"
    if row.thumbs is not None and row.thumbs not in (-1, 1):
        return "thumbs_out_of_range"
    return None


def preference_pairs(
    rows: Iterable[LabelledRow], *, min_score_gap: float = DEFAULT_MIN_SCORE_GAP
) -> Export:
    """Apply the module's rule to turn labelled rows into preference pairs."""
    export = Export()
    pairs: list[PreferencePair] = []
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    for row in rows:
        export.read += 1
        prompt = _text(row.prompt)
        if prompt is None:
            export.dropped["missing_prompt"] += 1
            continue
        problem = _rating_problem(row)
        if problem:
            export.dropped[problem] += 1
            continue

        # An explicit choice between two candidates.
        if row.preferred is not None or row.candidate_a or row.candidate_b:
            a, b = _text(row.candidate_a), _text(row.candidate_b)
            choice = (row.preferred or "").strip().lower()
            if a is None or b is None:
                export.dropped["missing_candidate"] += 1
            elif choice not in ("a", "b"):
                export.dropped["preferred_not_a_or_b"] += 1
            elif a == b:
                export.dropped["identical_candidates"] += 1
            else:
                chosen, rejected = (a, b) if choice == "a" else (b, a)
                pairs.append(PreferencePair(prompt, chosen, rejected, SOURCE_EXPLICIT))
            continue

        response = _text(row.response)
        corrected = _text(row.corrected_response)
        if corrected is not None and response is not None and corrected != response:
            pairs.append(PreferencePair(prompt, corrected, response, SOURCE_CORRECTION))
        row_score = score(row)
        if response is not None and row_score is not None:
            scores[prompt][response].append(row_score)
        elif corrected is None:
            export.dropped["nothing_to_pair"] += 1

    # Ratings: the best response of a prompt over clearly worse ones.
    for prompt, responses in scores.items():
        means = {text: sum(v) / len(v) for text, v in responses.items()}
        best_text, best = max(means.items(), key=lambda item: (item[1], item[0]))
        for text, value in sorted(means.items()):
            if text != best_text and best - value >= min_score_gap:
                pairs.append(PreferencePair(prompt, best_text, text, SOURCE_RATING))

    export.records = _without_contradictions(pairs, export.dropped)
    export.by_source.update(pair.source for pair in export.records)
    logger.info(
        "export.pairs",
        extra={
            "fields": {
                "read": export.read,
                "pairs": len(export.records),
                "dropped": sum(export.dropped.values()),
            }
        },
    )
    return export


def _without_contradictions(
    pairs: Sequence[PreferencePair], dropped: Counter[str]
) -> list[PreferencePair]:
    # The first pair of a (prompt, chosen, rejected) wins: explicit choices come
    # first, then corrections, then ratings.
    unique: dict[tuple[str, str, str], PreferencePair] = {}
    for pair in pairs:
        key = (pair.prompt, pair.chosen, pair.rejected)
        if key in unique:
            dropped["duplicate_pair"] += 1
            continue
        unique[key] = pair
    kept = []
    for (prompt, chosen, rejected), pair in unique.items():
        if (prompt, rejected, chosen) in unique:
            dropped["contradictory_pair"] += 1
            continue
        kept.append(pair)
    return kept


def supervised_examples(
    rows: Iterable[LabelledRow],
    *,
    min_accepted_score: float = DEFAULT_MIN_ACCEPTED_SCORE,
) -> Export:
    """Corrections and accepted responses as (prompt, answer) examples."""
    export = Export()
    examples: dict[tuple[str, str], SupervisedExample] = {}

    for row in rows:
        export.read += 1
        prompt = _text(row.prompt)
        if prompt is None:
            export.dropped["missing_prompt"] += 1
            continue
        problem = _rating_problem(row)
        if problem:
            export.dropped[problem] += 1
            continue

        corrected = _text(row.corrected_response)
        response = _text(row.response)
        row_score = score(row)
        if corrected is not None:
            example = SupervisedExample(prompt, corrected, SOURCE_CORRECTION)
        elif row.blocked:
            export.dropped["blocked_response"] += 1
            continue
        elif (
            response is not None
            and row_score is not None
            and row_score >= min_accepted_score
        ):
            example = SupervisedExample(prompt, response, SOURCE_ACCEPTED)
        else:
            export.dropped["not_accepted"] += 1
            continue
        key = (example.prompt, example.answer)
        if key in examples:
            export.dropped["duplicate_example"] += 1
            continue
        examples[key] = example

    export.records = list(examples.values())
    export.by_source.update(example.source for example in export.records)
    logger.info(
        "export.examples",
        extra={
            "fields": {
                "read": export.read,
                "examples": len(export.records),
                "dropped": sum(export.dropped.values()),
            }
        },
    )
    return export


def count_new_labelled(store: TableStore, *, use_case: str, pipeline: str) -> int:
    """Labelled feedback rows newer than the pipeline's last recorded run."""
    rows = store.query(
        queries.sql(queries.NEW_LABELLED_COUNT),
        {"use_case": use_case, "pipeline": pipeline},
    )
    return int(rows[0]["new_examples"]) if rows else 0
