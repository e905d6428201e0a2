"""Tuner JSONL formats and their validation."""

from __future__ import annotations

import json

import pytest

from llmops.errors import InputError
from llmops.pipelines import formats
from llmops.pipelines.feedback import PreferencePair, SupervisedExample


def _pairs(n: int) -> list[PreferencePair]:
    return [
        PreferencePair(f"prompt {i}", f"good {i}", f"bad {i}", "rating")
        for i in range(n)
    ]


@pytest.mark.parametrize("fmt", formats.PREFERENCE_FORMATS)
def test_preference_records_validate_and_keep_the_chosen_answer(fmt: str) -> None:
    """Every pair turns into a valid line whose reference is the chosen answer."""
    pairs = _pairs(20)
    lines = formats.to_jsonl(formats.preference_record(p, fmt) for p in pairs)

    validated = formats.validate_lines(lines.splitlines(), fmt)

    assert validated.dropped_total == 0
    assert [formats.prompt_of(r, fmt) for r in validated.records] == [
        p.prompt for p in pairs
    ]
    assert [formats.reference_of(r, fmt) for r in validated.records] == [
        p.chosen for p in pairs
    ]


def test_rlhf_choice_is_not_always_the_first_candidate() -> None:
    """The chosen answer's position varies, so a tuner cannot learn position."""
    records = [formats.preference_record(p, formats.RLHF) for p in _pairs(40)]

    assert {r["choice"] for r in records} == {0, 1}
    for record, pair in zip(records, _pairs(40), strict=True):
        assert record[f"candidate_{record['choice']}"] == pair.chosen


def test_supervised_record_ends_with_the_model_turn() -> None:
    """A Gemini SFT line is a user turn then the answer as the model turn."""
    record = formats.supervised_record(
        SupervisedExample("Q?", "A.", "accepted"), formats.GEMINI_SFT
    )

    assert record == {
        "contents": [
            {"role": "user", "parts": [{"text": "Q?"}]},
            {"role": "model", "parts": [{"text": "A."}]},
        ]
    }


def test_a_pair_cannot_be_written_in_a_supervised_format() -> None:
    """Asking for the wrong kind of format raises InputError naming the choices."""
    with pytest.raises(InputError, match="gemini_preference"):
        formats.preference_record(_pairs(1)[0], formats.GEMINI_SFT)


def _turn(role: str, text: str) -> dict:
    return {"role": role, "parts": [{"text": text}]}


MALFORMED = {
    formats.RLHF: [
        ("{not json", "not_json"),
        (json.dumps([1, 2]), "not_an_object"),
        (
            json.dumps({"candidate_0": "a", "candidate_1": "b", "choice": 0}),
            "missing_input_text",
        ),
        (
            json.dumps(
                {"input_text": "q", "candidate_0": "a", "candidate_1": "b", "choice": 2}
            ),
            "choice_not_0_or_1",
        ),
        (
            json.dumps(
                {
                    "input_text": "q",
                    "candidate_0": "a",
                    "candidate_1": "b",
                    "choice": True,
                }
            ),
            "choice_not_0_or_1",
        ),
        (
            json.dumps(
                {"input_text": "q", "candidate_0": "a", "candidate_1": "a", "choice": 0}
            ),
            "identical_candidates",
        ),
        (
            json.dumps(
                {"input_text": "q", "candidate_0": " ", "candidate_1": "a", "choice": 0}
            ),
            "missing_candidate_0",
        ),
    ],
    formats.GEMINI_PREFERENCE: [
        (json.dumps({"contents": [], "completions": []}), "missing_contents"),
        (
            json.dumps({"contents": [_turn("model", "x")], "completions": []}),
            "contents_not_ending_with_user",
        ),
        (
            json.dumps(
                {
                    "contents": [_turn("user", "q")],
                    "completions": [{"score": 1, "completion": _turn("model", "a")}],
                }
            ),
            "completions_not_a_pair",
        ),
        (
            json.dumps(
                {
                    "contents": [_turn("user", "q")],
                    "completions": [
                        {"score": 1, "completion": _turn("model", "a")},
                        {"score": 1, "completion": _turn("model", "b")},
                    ],
                }
            ),
            "scores_not_one_and_zero",
        ),
        (
            json.dumps(
                {
                    "contents": [_turn("user", "q")],
                    "completions": [
                        {"score": 1, "completion": _turn("model", "")},
                        {"score": 0, "completion": _turn("model", "b")},
                    ],
                }
            ),
            "empty_completion",
        ),
    ],
    formats.GEMINI_SFT: [
        (
            json.dumps({"contents": [_turn("user", "q")]}),
            "contents_not_ending_with_model",
        ),
        (
            json.dumps(
                {
                    "contents": [
                        _turn("user", "q"),
                        _turn("user", "r"),
                        _turn("model", "a"),
                    ]
                }
            ),
            "turns_not_alternating",
        ),
        (
            json.dumps({"contents": [_turn("system", "q"), _turn("model", "a")]}),
            "unknown_role",
        ),
        (
            json.dumps(
                {
                    "contents": [
                        {"role": "user", "parts": [{"text": 3}]},
                        _turn("model", "a"),
                    ]
                }
            ),
            "empty_turn",
        ),
    ],
}


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_malformed_lines_are_dropped_and_counted_by_reason(fmt: str) -> None:
    """Each malformed line is dropped with its reason; good lines are kept."""
    good = {
        formats.RLHF: {
            "input_text": "q",
            "candidate_0": "a",
            "candidate_1": "b",
            "choice": 1,
        },
        formats.GEMINI_PREFERENCE: formats.preference_record(
            PreferencePair("q", "a", "b", "explicit"), formats.GEMINI_PREFERENCE
        ),
        formats.GEMINI_SFT: formats.supervised_record(
            SupervisedExample("q", "a", "accepted"), formats.GEMINI_SFT
        ),
    }[fmt]
    bad = MALFORMED[fmt]
    lines = [json.dumps(good), *(line for line, _ in bad), "", json.dumps(good)]

    validated = formats.validate_lines(lines, fmt)

    assert validated.records == [good, good]
    expected: dict[str, int] = {}
    for _, reason in bad:
        expected[reason] = expected.get(reason, 0) + 1
    assert dict(validated.dropped) == expected
    assert validated.dropped_total == len(bad)


def test_over_long_records_are_dropped() -> None:
    """A record longer than the limit is dropped rather than truncated."""
    record = formats.supervised_record(
        SupervisedExample("q", "a" * 500, "accepted"), formats.GEMINI_SFT
    )

    validated = formats.validate_lines(
        [json.dumps(record)], formats.GEMINI_SFT, max_chars=100
    )

    assert validated.records == []
    assert dict(validated.dropped) == {"too_long": 1}
