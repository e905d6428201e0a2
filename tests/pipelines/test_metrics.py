"""Evaluation metrics on a fixed dataset, and the baseline comparison."""

from __future__ import annotations

import math

import pytest

from llmops.pipelines.metrics import (
    Example,
    compare,
    evaluate,
    exact_match,
    normalise_answer,
    safety_flags,
    token_f1,
)
from tests.pipelines.fakes import TableEmbedder

EXAMPLES = [
    # Equal after normalisation: EM 1, F1 1.
    Example("q1", "The Paris.", "paris"),
    # pred [cat, sat], ref [cat, sat, down]: P 1, R 2/3, F1 0.8.
    Example("q2", "cat sat down", "the cat sat"),
    # Nothing shared, blocked and empty.
    Example("q3", "four words in reference", "", safety_flags("", blocked=True)),
]


def test_normalisation_drops_case_punctuation_and_articles() -> None:
    """Answers compare without case, punctuation, a/an/the or extra spaces."""
    assert normalise_answer("  The  Cat, an Owl!  ") == "cat owl"


def test_exact_match_and_token_f1_give_known_values() -> None:
    """EM and F1 on hand-computed cases."""
    assert exact_match("paris", "The Paris.") == 1.0
    assert exact_match("paris", "london") == 0.0
    assert token_f1("the cat sat", "cat sat down") == pytest.approx(0.8)
    assert token_f1("x y y", "y y z") == pytest.approx(2 / 3)
    assert token_f1("", "") == 1.0
    assert token_f1("x", "") == 0.0


def test_report_on_the_fixed_dataset() -> None:
    """Every metric of the report has its hand-computed value."""
    vectors = {
        "paris": (1.0, 0.0),
        "The Paris.": (1.0, 0.0),
        "the cat sat": (1.0, 0.0),
        "cat sat down": (0.6, 0.8),
        " ": (0.0, 1.0),
        "four words in reference": (1.0, 0.0),
    }
    embedder = TableEmbedder(vectors, max_batch=2)

    report = evaluate(EXAMPLES, embedder)

    assert report.examples == 3
    m = report.metrics
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["token_f1"] == pytest.approx((1 + 0.8 + 0) / 3)
    assert m["embedding_similarity"] == pytest.approx((1 + 0.6 + 0) / 3)
    assert m["prediction_chars"] == pytest.approx((5 + 11 + 0) / 3)
    assert m["reference_chars"] == pytest.approx((10 + 12 + 23) / 3)
    assert m["length_ratio"] == pytest.approx((1 / 2 + 3 / 3 + 0 / 4) / 3)
    assert m["safety_flag_rate"] == pytest.approx(1 / 3)
    assert m["flag_blocked"] == pytest.approx(1 / 3)
    assert m["flag_empty"] == pytest.approx(1 / 3)
    assert m["flag_guardrail"] == 0
    # Six texts in requests of at most two.
    assert [len(r) for r in embedder.requests] == [2, 2, 2]


def test_similarity_is_left_out_without_an_embedder() -> None:
    """No embedder, no embedding_similarity; the rest is still computed."""
    report = evaluate(EXAMPLES)

    assert "embedding_similarity" not in report.metrics
    assert not math.isnan(report.metrics["token_f1"])


def test_safety_flags_name_what_was_raised() -> None:
    """Blocked, guardrail and empty answers each raise their flag."""
    assert safety_flags("ok") == frozenset()
    assert safety_flags(" ", blocked=True, guardrails=2) == {
        "blocked",
        "guardrail",
        "empty",
    }


def test_comparison_with_a_baseline() -> None:
    """Deltas are run minus baseline; lower is better for safety flags."""
    rows = {
        c.metric: c
        for c in compare(
            {"token_f1": 0.7, "safety_flag_rate": 0.1, "exact_match": 0.2},
            {"token_f1": 0.5, "safety_flag_rate": 0.2},
        )
    }

    assert rows["token_f1"].delta == pytest.approx(0.2)
    assert rows["token_f1"].improved is True
    assert rows["safety_flag_rate"].improved is True
    assert rows["exact_match"].baseline is None
    assert rows["exact_match"].improved is None
