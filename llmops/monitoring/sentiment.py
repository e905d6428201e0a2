"""Prompt sentiment with VADER, whose lexicon ships inside its wheel (runs offline).

The score is VADER's compound score, from -1 (negative) to 1 (positive);
VADER's own cut-offs, at -0.05 and 0.05, separate negative, neutral and
positive, and the sentiment view uses the same ones.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05


@runtime_checkable
class SentimentScorer(Protocol):
    """Scores text from -1 (negative) to 1 (positive)."""

    def score(self, text: str) -> float: ...


class VaderSentiment:
    """VADER's compound score; the analyser is built once, on first use."""

    def __init__(self) -> None:
        self._analyzer = None
        self._lock = threading.Lock()

    def score(self, text: str) -> float:
        if not text.strip():
            return 0.0
        with self._lock:
            if self._analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                self._analyzer = SentimentIntensityAnalyzer()
            analyzer = self._analyzer
        return float(analyzer.polarity_scores(text)["compound"])
