"""Evaluation metrics over (prompt, reference, prediction) examples.

- ``exact_match``: share of predictions equal to their reference after
  normalisation (case, punctuation, the articles a/an/the, whitespace).
- ``token_f1``: mean F1 of the normalised tokens shared by prediction and
  reference (each token counted as often as it occurs in both).
- ``embedding_similarity``: mean cosine similarity of prediction and
  reference embeddings from an ``Embedder``.
- ``prediction_chars``, ``reference_chars``: mean lengths in characters;
  ``length_ratio``: mean of prediction tokens over reference tokens.
- ``safety_flag_rate``: share of examples with any safety flag, plus one
  ``flag_<name>`` rate per flag (``blocked``, ``guardrail``, ``empty``).

``compare`` sets a run's metrics beside a baseline's.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from llmops.backends.base import Embedder

FLAG_BLOCKED = "blocked"
FLAG_GUARDRAIL = "guardrail"
FLAG_EMPTY = "empty"
FLAGS = (FLAG_BLOCKED, FLAG_GUARDRAIL, FLAG_EMPTY)

# Metrics where a lower value is the better one.
LOWER_IS_BETTER = frozenset({"safety_flag_rate"} | {f"flag_{flag}" for flag in FLAGS})

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class Example:
    """One held-out prompt, the answer held up as right, and a model's answer."""

    prompt: str
    reference: str
    prediction: str
    flags: frozenset[str] = frozenset()


@dataclass
class Report:
    """A run's metrics and the number of examples they cover."""

    metrics: dict[str, float] = field(default_factory=dict)
    examples: int = 0


def normalise_answer(text: str) -> str:
    """Lowercase, drop punctuation and articles, collapse whitespace."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when the normalised answers are equal, else 0.0."""
    return float(normalise_answer(prediction) == normalise_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """F1 over the normalised tokens of prediction and reference."""
    predicted = normalise_answer(prediction).split()
    expected = normalise_answer(reference).split()
    if not predicted and not expected:
        return 1.0
    if not predicted or not expected:
        return 0.0
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0.0 when either vector is zero."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _embed_all(embedder: Embedder, texts: Sequence[str]) -> list[list[float]]:
    # One request per batch the model allows; empty text embeds as one space.
    vectors: list[list[float]] = []
    batch = max(1, embedder.model.max_batch)
    for start in range(0, len(texts), batch):
        chunk = [text if text.strip() else " " for text in texts[start : start + batch]]
        vectors.extend(embedder.embed(chunk, task="document"))
    return vectors


def embedding_similarities(
    embedder: Embedder, predictions: Sequence[str], references: Sequence[str]
) -> list[float]:
    """Cosine similarity of each prediction to its reference."""
    vectors = _embed_all(embedder, [*predictions, *references])
    half = len(predictions)
    return [cosine(vectors[i], vectors[half + i]) for i in range(half)]


def safety_flags(
    prediction: str, *, blocked: bool = False, guardrails: int = 0
) -> frozenset[str]:
    """The flags an answer raises: blocked, a guardrail, or an empty answer."""
    flags = set()
    if blocked:
        flags.add(FLAG_BLOCKED)
    if guardrails:
        flags.add(FLAG_GUARDRAIL)
    if not prediction.strip():
        flags.add(FLAG_EMPTY)
    return frozenset(flags)


def evaluate(examples: Sequence[Example], embedder: Embedder | None = None) -> Report:
    """Every metric over the examples; similarity only when given an embedder."""
    report = Report(examples=len(examples))
    if not examples:
        return report
    n = len(examples)

    report.metrics["exact_match"] = (
        sum(exact_match(e.prediction, e.reference) for e in examples) / n
    )
    report.metrics["token_f1"] = (
        sum(token_f1(e.prediction, e.reference) for e in examples) / n
    )
    if embedder is not None:
        similarities = embedding_similarities(
            embedder, [e.prediction for e in examples], [e.reference for e in examples]
        )
        report.metrics["embedding_similarity"] = sum(similarities) / n

    # Lengths: characters, and tokens against the reference.
    report.metrics["prediction_chars"] = sum(len(e.prediction) for e in examples) / n
    report.metrics["reference_chars"] = sum(len(e.reference) for e in examples) / n
    report.metrics["length_ratio"] = (
        sum(
            len(e.prediction.split()) / max(1, len(e.reference.split()))
            for e in examples
        )
        / n
    )

    report.metrics["safety_flag_rate"] = sum(1 for e in examples if e.flags) / n
    for flag in FLAGS:
        report.metrics[f"flag_{flag}"] = sum(1 for e in examples if flag in e.flags) / n
    return report


@dataclass(frozen=True)
class Comparison:
    """One metric of a run beside the baseline's."""

    metric: str
    value: float
    baseline: float | None

    @property
    def delta(self) -> float | None:
        """The run's value minus the baseline's, when there is a baseline."""
        return None if self.baseline is None else self.value - self.baseline

    @property
    def improved(self) -> bool | None:
        """Whether the run did better than the baseline on this metric."""
        delta = self.delta
        if delta is None:
            return None
        return delta < 0 if self.metric in LOWER_IS_BETTER else delta > 0


def compare(
    metrics: Mapping[str, float], baseline: Mapping[str, float] | None
) -> list[Comparison]:
    """The run's metrics, each with the baseline's value when it has one."""
    baseline = baseline or {}
    return [
        Comparison(name, value, baseline.get(name))
        for name, value in sorted(metrics.items())
    ]
