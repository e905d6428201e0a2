"""The JSONL formats the tuners take, and a validator for each.

- ``rlhf``: the GCPC RLHF pipeline's preference dataset, one object per line
  with ``input_text``, ``candidate_0``, ``candidate_1`` and ``choice`` (0 or
  1, the index of the preferred candidate). Which candidate is listed first
  is decided by a hash of the pair, so the choice is not always 0. Its
  prompt dataset has ``input_text`` alone.
- ``gemini_preference``: Gemini preference tuning, ``contents`` (turns
  ending with a user turn) and ``completions``: exactly two model turns
  scored 1 (preferred) and 0.
- ``gemini_sft``: Gemini supervised tuning, ``contents`` alternating user
  and model turns and ending with a model turn.

Validation reads lines, keeps the well-formed ones and counts the others by
reason; it never raises on a bad row.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops.errors import InputError
from llmops.pipelines.feedback import PreferencePair, SupervisedExample

RLHF = "rlhf"
GEMINI_PREFERENCE = "gemini_preference"
GEMINI_SFT = "gemini_sft"
PREFERENCE_FORMATS = (RLHF, GEMINI_PREFERENCE)
SUPERVISED_FORMATS = (GEMINI_SFT,)
FORMATS = PREFERENCE_FORMATS + SUPERVISED_FORMATS

# Longer examples are dropped rather than silently truncated by a tuner.
DEFAULT_MAX_EXAMPLE_CHARS = 32_000


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(
            f"tuner format {fmt!r} is not known; choose one of {', '.join(FORMATS)}"
        )


def _turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


def _chosen_first(pair: PreferencePair) -> bool:
    digest = hashlib.sha256(f"{pair.prompt}\0{pair.chosen}".encode()).digest()
    return digest[0] % 2 == 0


def preference_record(pair: PreferencePair, fmt: str) -> dict[str, Any]:
    """One preference pair in a preference tuner's format."""
    _check(fmt)
    if fmt == RLHF:
        first, second = (
            (pair.chosen, pair.rejected)
            if _chosen_first(pair)
            else (pair.rejected, pair.chosen)
        )
        return {
            "input_text": pair.prompt,
            "candidate_0": first,
            "candidate_1": second,
            "choice": 0 if first == pair.chosen else 1,
        }
    if fmt == GEMINI_PREFERENCE:
        return {
            "contents": [_turn("user", pair.prompt)],
            "completions": [
                {"score": 1, "completion": _turn("model", pair.chosen)},
                {"score": 0, "completion": _turn("model", pair.rejected)},
            ],
        }
    raise InputError(
        f"tuner format {fmt!r} takes supervised examples, not preference pairs; "
        f"choose one of {', '.join(PREFERENCE_FORMATS)}"
    )


def supervised_record(example: SupervisedExample, fmt: str) -> dict[str, Any]:
    """One supervised example in a supervised tuner's format."""
    _check(fmt)
    if fmt != GEMINI_SFT:
        raise InputError(
            f"tuner format {fmt!r} takes preference pairs, not supervised "
            f"examples; choose one of {', '.join(SUPERVISED_FORMATS)}"
        )
    return {"contents": [_turn("user", example.prompt), _turn("model", example.answer)]}


def _texts(turn: Any) -> str | None:
    # A turn's text parts joined, or None when the turn is malformed.
    if not isinstance(turn, Mapping):
        return None
    parts = turn.get("parts")
    if not isinstance(parts, list) or not parts:
        return None
    texts = [part.get("text") if isinstance(part, Mapping) else None for part in parts]
    if not all(isinstance(text, str) for text in texts):
        return None
    joined = "".join(texts)  # type: ignore[arg-type]
    return joined if joined.strip() else None


def _contents_problem(contents: Any, *, last_role: str) -> str | None:
    if not isinstance(contents, list) or not contents:
        return "missing_contents"
    for turn in contents:
        if _texts(turn) is None:
            return "empty_turn"
        if turn.get("role") not in ("user", "model"):
            return "unknown_role"
    if contents[-1].get("role") != last_role:
        return f"contents_not_ending_with_{last_role}"
    return None


def record_problem(record: Any, fmt: str, max_chars: int) -> str | None:
    """Why ``record`` is not a valid line of ``fmt``, or None when it is."""
    _check(fmt)
    if not isinstance(record, Mapping):
        return "not_an_object"
    if len(json.dumps(record, ensure_ascii=False)) > max_chars:
        return "too_long"

    if fmt == RLHF:
        keys = ("input_text", "candidate_0", "candidate_1")
        for key in keys:
            value = record.get(key)
            if not isinstance(value, str) or not value.strip():
                return f"missing_{key}"
        choice = record.get("choice")
        if isinstance(choice, bool) or choice not in (0, 1):
            return "choice_not_0_or_1"
        if record["candidate_0"] == record["candidate_1"]:
            return "identical_candidates"
        return None

    if fmt == GEMINI_PREFERENCE:
        problem = _contents_problem(record.get("contents"), last_role="user")
        if problem:
            return problem
        completions = record.get("completions")
        if not isinstance(completions, list) or len(completions) != 2:
            return "completions_not_a_pair"
        scores = []
        texts = []
        for item in completions:
            if not isinstance(item, Mapping):
                return "completions_not_a_pair"
            completion = item.get("completion")
            text = _texts(completion)
            if text is None or completion.get("role") != "model":
                return "empty_completion"
            texts.append(text)
            scores.append(item.get("score"))
        if sorted(scores) != [0, 1] or any(isinstance(s, bool) for s in scores):
            return "scores_not_one_and_zero"
        if texts[0] == texts[1]:
            return "identical_candidates"
        return None

    problem = _contents_problem(record.get("contents"), last_role="model")
    if problem:
        return problem
    roles = [turn["role"] for turn in record["contents"]]
    if roles[0] != "user" or any(a == b for a, b in itertools.pairwise(roles)):
        return "turns_not_alternating"
    return None


@dataclass
class Validated:
    """The well-formed records of a JSONL input and the count of the others."""

    records: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def dropped_total(self) -> int:
        """How many lines were dropped, whatever the reason."""
        return sum(self.dropped.values())


def validate_lines(
    lines: Iterable[str], fmt: str, *, max_chars: int = DEFAULT_MAX_EXAMPLE_CHARS
) -> Validated:
    """Keep the lines that are valid ``fmt`` records; count the rest by reason."""
    _check(fmt)
    result = Validated()
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            result.dropped["not_json"] += 1
            continue
        problem = record_problem(record, fmt, max_chars)
        if problem:
            result.dropped[problem] += 1
        else:
            result.records.append(record)
    return result


def prompt_of(record: Mapping[str, Any], fmt: str) -> str:
    """The prompt of a valid record: what the hold-out split is keyed by."""
    if fmt == RLHF:
        return str(record["input_text"])
    texts = [
        _texts(turn) or "" for turn in record["contents"] if turn.get("role") == "user"
    ]
    return "\n".join(texts)


def reference_of(record: Mapping[str, Any], fmt: str) -> str:
    """The answer a valid record holds up as right: the preferred or given one."""
    if fmt == RLHF:
        return str(record[f"candidate_{record['choice']}"])
    if fmt == GEMINI_PREFERENCE:
        best = next(item for item in record["completions"] if item["score"] == 1)
        return _texts(best["completion"]) or ""
    return _texts(record["contents"][-1]) or ""


def to_jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    """Records as JSON lines, UTF-8 kept as is."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
