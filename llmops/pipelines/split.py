"""Hold-out split keyed by a hash of the prompt.

A record goes to evaluation when the SHA-256 of its normalised prompt (with
a salt) falls below the evaluation fraction, so every record of one prompt
lands in the same split, the split of a prompt is the same in every run and
every template that uses the same salt, and new data never moves an old
prompt from training to evaluation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from llmops.errors import InputError

T = TypeVar("T")

DEFAULT_EVAL_FRACTION = 0.2
DEFAULT_SALT = "llmops-holdout-v1"
MAX_EVAL_FRACTION = 0.5


def normalise_prompt(prompt: str) -> str:
    """The prompt as the split sees it: case and runs of whitespace ignored."""
    return " ".join(prompt.split()).casefold()


def holdout_position(prompt: str, salt: str = DEFAULT_SALT) -> float:
    """Where the prompt falls in [0, 1); below the fraction means evaluation."""
    digest = hashlib.sha256(f"{salt}\0{normalise_prompt(prompt)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_evaluation(
    prompt: str, fraction: float = DEFAULT_EVAL_FRACTION, salt: str = DEFAULT_SALT
) -> bool:
    """Whether the prompt belongs to the evaluation split."""
    return holdout_position(prompt, salt) < fraction


@dataclass
class Split(Generic[T]):
    """Training and evaluation records."""

    train: list[T] = field(default_factory=list)
    evaluation: list[T] = field(default_factory=list)


def split_holdout(
    records: Iterable[T],
    prompt: Callable[[T], str],
    *,
    fraction: float = DEFAULT_EVAL_FRACTION,
    salt: str = DEFAULT_SALT,
) -> Split[T]:
    """Split records by their prompt's hash; one prompt never lands in both."""
    if not 0 < fraction <= MAX_EVAL_FRACTION:
        raise InputError(
            f"eval_fraction must be above 0 and at most {MAX_EVAL_FRACTION}, "
            f"got {fraction}; pass a fraction such as {DEFAULT_EVAL_FRACTION}"
        )
    if not salt:
        raise InputError("split salt must not be empty; pass a fixed string")
    result: Split[T] = Split()
    for record in records:
        if in_evaluation(prompt(record), fraction, salt):
            result.evaluation.append(record)
        else:
            result.train.append(record)
    return result
