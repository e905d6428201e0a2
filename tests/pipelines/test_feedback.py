"""The export rule: feedback rows to preference pairs and supervised examples."""

from __future__ import annotations

from collections import Counter

from llmops.pipelines import feedback
from llmops.pipelines.feedback import LabelledRow, preference_pairs, supervised_examples
from tests.pipelines import seed


def _labelled() -> list[LabelledRow]:
    interactions, rows = seed.rows()
    by_id = {row["interaction_id"]: row for row in interactions}
    return [
        LabelledRow.from_mapping({**by_id[row["interaction_id"]], **row})
        for row in rows
    ]


def test_seeded_rows_give_one_pair_per_rule_and_count_malformed_rows() -> None:
    """An explicit choice, a correction and a rating gap each give a pair."""
    export = preference_pairs(_labelled())

    assert len(export.records) == seed.EXPECTED["pairs"]
    assert export.by_source == Counter(explicit=1, correction=1, rating=1)
    assert dict(export.dropped) == seed.EXPECTED["pair_dropped"]
    explicit = next(p for p in export.records if p.source == "explicit")
    assert explicit.chosen.startswith("Open Settings")
    assert explicit.rejected == "Use the reset link."
    rating = next(p for p in export.records if p.source == "rating")
    assert (rating.chosen, rating.rejected) == ("We open 9 to 5.", "No idea.")


def test_rating_gap_below_the_minimum_gives_no_pair() -> None:
    """Ratings 4 and 3 pair only when the minimum gap is lowered to 1."""
    rows = [
        LabelledRow("f1", "i1", "Q?", "good", rating=4),
        LabelledRow("f2", "i2", "Q?", "fair", rating=3),
    ]

    assert preference_pairs(rows).records == []
    pairs = preference_pairs(rows, min_score_gap=1).records
    assert [(p.chosen, p.rejected) for p in pairs] == [("good", "fair")]


def test_thumbs_count_as_five_and_one_and_repeated_ratings_average() -> None:
    """Thumbs map onto the rating scale and a response's scores are averaged."""
    rows = [
        LabelledRow("f1", "i1", "Q?", "up", thumbs=1),
        LabelledRow("f2", "i2", "Q?", "mixed", rating=5),
        LabelledRow("f3", "i3", "Q?", "mixed", rating=1),
        LabelledRow("f4", "i4", "Q?", "down", thumbs=-1),
    ]

    pairs = preference_pairs(rows).records

    # "mixed" averages 3: two below "up", so paired; "down" is four below.
    assert sorted((p.chosen, p.rejected) for p in pairs) == [
        ("up", "down"),
        ("up", "mixed"),
    ]


def test_contradictory_choices_are_both_dropped() -> None:
    """A over B and B over A on one prompt cancel out and are counted."""
    rows = [
        LabelledRow(
            "f1", "i1", "Q?", None, candidate_a="A", candidate_b="B", preferred="a"
        ),
        LabelledRow(
            "f2", "i2", "Q?", None, candidate_a="A", candidate_b="B", preferred="b"
        ),
        LabelledRow(
            "f3", "i3", "Q?", None, candidate_a="A", candidate_b="B", preferred="A"
        ),
    ]

    export = preference_pairs(rows)

    assert export.records == []
    assert export.dropped == Counter(contradictory_pair=2, duplicate_pair=1)


def test_supervised_examples_take_corrections_and_accepted_answers() -> None:
    """Corrections and well-scored answers become examples; others are counted."""
    export = supervised_examples(_labelled())

    assert len(export.records) == seed.EXPECTED["examples"]
    assert dict(export.dropped) == seed.EXPECTED["example_dropped"]
    answers = {e.answer for e in export.records}
    assert "It ships tomorrow; tracking follows by mail." in answers
    assert "It shipped." not in answers
    assert "Sometimes." not in answers


def test_blocked_answers_are_never_accepted() -> None:
    """A thumbed-up answer that was blocked is dropped, not learned from."""
    rows = [LabelledRow("f1", "i1", "Q?", "answer", thumbs=1, blocked=True)]

    export = supervised_examples(rows)

    assert export.records == []
    assert export.dropped == Counter(blocked_response=1)


def test_scores_follow_the_documented_scale() -> None:
    """Rating wins over thumbs; thumbs up is 5, down 1; nothing is None."""
    assert feedback.score(LabelledRow("f", "i", "p", "r", rating=2, thumbs=1)) == 2
    assert feedback.score(LabelledRow("f", "i", "p", "r", thumbs=1)) == 5
    assert feedback.score(LabelledRow("f", "i", "p", "r", thumbs=-1)) == 1
    assert feedback.score(LabelledRow("f", "i", "p", "r")) is None
