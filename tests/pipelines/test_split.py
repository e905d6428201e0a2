"""The hold-out split keyed by a hash of the prompt."""

from __future__ import annotations

import random

import pytest

from llmops.errors import InputError
from llmops.pipelines.split import in_evaluation, normalise_prompt, split_holdout


def _records() -> list[tuple[str, int]]:
    # 300 prompts, each with 1 to 4 records in different spellings.
    rng = random.Random(7)
    records = []
    for i in range(300):
        for copy in range(rng.randint(1, 4)):
            prompt = f"Question number {i}?"
            if copy % 2:
                prompt = "  " + prompt.upper().replace(" ", "   ")
            records.append((prompt, copy))
    rng.shuffle(records)
    return records


def test_a_prompt_never_lands_in_both_splits() -> None:
    """Records of one prompt, however spelled, share a split."""
    result = split_holdout(_records(), lambda r: r[0], fraction=0.2)

    train = {normalise_prompt(p) for p, _ in result.train}
    evaluation = {normalise_prompt(p) for p, _ in result.evaluation}
    assert train and evaluation
    assert train.isdisjoint(evaluation)
    assert len(result.train) + len(result.evaluation) == len(_records())


def test_the_evaluation_share_follows_the_fraction() -> None:
    """About the given fraction of prompts is held out."""
    prompts = [f"prompt {i}" for i in range(4000)]

    share = sum(in_evaluation(p, 0.25) for p in prompts) / len(prompts)

    assert 0.22 < share < 0.28


def test_the_split_is_stable_across_runs_and_growth() -> None:
    """A prompt keeps its split when records are reordered or more arrive."""
    records = _records()
    first = split_holdout(records, lambda r: r[0])
    grown = records[::-1] + [(f"new prompt {i}", 0) for i in range(200)]
    second = split_holdout(grown, lambda r: r[0])

    held = {normalise_prompt(p) for p, _ in first.evaluation}
    assert held <= {normalise_prompt(p) for p, _ in second.evaluation}
    assert held.isdisjoint({normalise_prompt(p) for p, _ in second.train})


def test_the_salt_changes_which_prompts_are_held_out() -> None:
    """Another salt draws another evaluation set."""
    prompts = [f"prompt {i}" for i in range(500)]

    a = {p for p in prompts if in_evaluation(p, 0.2, "salt-a")}
    b = {p for p in prompts if in_evaluation(p, 0.2, "salt-b")}

    assert a != b


@pytest.mark.parametrize("fraction", [0.0, -0.1, 0.6])
def test_fractions_outside_the_range_are_refused(fraction: float) -> None:
    """The evaluation fraction must be above 0 and at most a half."""
    with pytest.raises(InputError, match="eval_fraction"):
        split_holdout([("p", 1)], lambda r: r[0], fraction=fraction)
