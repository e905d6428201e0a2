"""The interaction logger refuses values no monitoring row should hold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from llmops.errors import ConfigError, InputError
from llmops.monitoring import InteractionLogger, SafetyAttribute


class NoTables:
    """A table store that must never be reached by a refused call."""

    def insert(self, table, rows):
        raise AssertionError("a refused row reached the table store")

    def query(self, sql, params=None):
        raise AssertionError("unexpected query")


@pytest.fixture
def logger(tmp_path: Path) -> InteractionLogger:
    """A logger whose table store fails the test if anything is written."""
    return InteractionLogger(
        NoTables(),
        use_case="support",
        pseudonym_key=b"k" * 32,
        dead_letter_path=tmp_path / "dead.jsonl",
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"guardrails": "pii_redacted"}, "guardrails"),
        ({"retrieved_chunk_ids": "abc"}, "retrieved_chunk_ids"),
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"latency_ms": float("inf")}, "latency_ms"),
        ({"latency_ms": -500.0}, "latency_ms"),
        ({"input_tokens": -3}, "input_tokens"),
        ({"turn": -7}, "turn"),
        ({"model_name": ""}, "model_name"),
        ({"prompt": None}, "prompt"),
        ({"user_id": 42}, "user_id"),
        ({"turn": 10**30}, "turn"),
        ({"input_tokens": 2**63}, "input_tokens"),
        ({"output_tokens": 2**64}, "output_tokens"),
        ({"template_version": 10**20}, "template_version"),
        ({"request_time": "2026-01-01"}, "request_time must be a datetime"),
        ({"request_time": dt.datetime(2026, 1, 1)}, "request_time .* no timezone"),
        ({"guardrails": 5}, "guardrails must be a list of strings, got int"),
        ({"guardrails": [5]}, r"guardrails\[0\] must be a string"),
        ({"retrieved_chunk_ids": 5}, "retrieved_chunk_ids must be a list"),
        ({"retrieved_chunk_ids": ["a", None]}, r"retrieved_chunk_ids\[1\]"),
        ({"safety_attributes": 5}, "safety_attributes must be a list"),
        ({"safety_attributes": [5]}, r"safety_attributes\[0\] must be a Safety"),
        (
            {"safety_attributes": [SafetyAttribute("HARM_CATEGORY_X", "BOGUS")]},
            r"safety_attributes\[0\]\.probability must be one of .*NEGLIGIBLE",
        ),
        (
            {"safety_attributes": [SafetyAttribute("HARM_CATEGORY_X", "LOW", 7.5)]},
            r"safety_attributes\[0\]\.score must be a number from 0 to 1",
        ),
        (
            {"safety_attributes": [{"category": "HARM_CATEGORY_X", "score": -0.1}]},
            r"safety_attributes\[0\]\.score",
        ),
        (
            {"safety_attributes": [{"category": "", "probability": "LOW"}]},
            r"safety_attributes\[0\]\.category",
        ),
        (
            {"safety_attributes": [{"category": "H", "colour": "red"}]},
            r"safety_attributes\[0\] has unknown keys colour",
        ),
        (
            {"safety_attributes": [{"category": "H", "blocked": "yes"}]},
            r"safety_attributes\[0\]\.blocked",
        ),
    ],
)
def test_impossible_values_are_refused_by_name(
    logger: InteractionLogger, changes: dict, named: str
) -> None:
    """Each impossible value fails at the call, naming its argument."""
    arguments = {"prompt": "p", "response": "r", "model_name": "m", **changes}
    with pytest.raises(InputError, match=named):
        logger.log_interaction(**arguments)


class Recording:
    """A table store that keeps the rows it is given."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {}

    def insert(self, table, rows):
        self.rows.setdefault(table, []).extend(rows)

    def query(self, sql, params=None):
        raise AssertionError("unexpected query")


def test_valid_safety_attributes_and_the_int64_maximum_are_kept(
    tmp_path: Path,
) -> None:
    """Every HarmProbability name, scores 0 and 1, and INT64's maximum are logged."""
    tables = Recording()
    with InteractionLogger(
        tables,
        use_case="support",
        pseudonym_key=b"k" * 32,
        dead_letter_path=tmp_path / "dead.jsonl",
    ) as log:
        log.log_interaction(
            prompt="p",
            response="r",
            model_name="m",
            turn=2**63 - 1,
            request_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            guardrails=("off_topic",),
            safety_attributes=[
                SafetyAttribute(
                    "HARM_CATEGORY_HATE_SPEECH", "HARM_PROBABILITY_UNSPECIFIED"
                ),
                SafetyAttribute("HARM_CATEGORY_HARASSMENT", "NEGLIGIBLE", 0),
                {
                    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                    "probability": "HIGH",
                    "score": 1,
                    "blocked": True,
                },
            ],
        )
    (row,) = tables.rows["interactions"]
    assert row["turn"] == 2**63 - 1
    assert row["request_time"] == "2026-01-01T00:00:00+00:00"
    assert row["blocked"] is True
    assert [a["probability"] for a in row["safety_attributes"]] == [
        "HARM_PROBABILITY_UNSPECIFIED",
        "NEGLIGIBLE",
        "HIGH",
    ]
    assert row["safety_attributes"][2] == {
        "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
        "probability": "HIGH",
        "score": 1,
        "blocked": True,
    }


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"feedback_time": "now"}, "feedback_time must be a datetime, got str"),
        ({"feedback_time": 1767225600}, "feedback_time must be a datetime, got int"),
        ({"thumbs": True}, "thumbs"),
        ({"thumbs": 1.0}, "thumbs"),
    ],
)
def test_impossible_feedback_is_refused_by_name(
    logger: InteractionLogger, changes: dict, named: str
) -> None:
    """A feedback time that is no datetime, or thumbs other than -1 or 1, fails."""
    with pytest.raises(InputError, match=named):
        logger.log_feedback("i-1", **{"thumbs": 1, **changes})
    assert logger.pending() == 0


@pytest.mark.parametrize("name", ["Bad Name!", "", "ab", "Support", "support-", 7])
def test_a_use_case_that_is_not_a_use_case_name_is_refused(
    tmp_path: Path, name: object
) -> None:
    """The logger takes only names the rest of the platform takes, saying the rule."""
    with pytest.raises(ConfigError, match="3 to 20 lowercase letters"):
        InteractionLogger(
            NoTables(),
            use_case=name,  # type: ignore[arg-type]
            pseudonym_key=b"k" * 32,
            dead_letter_path=tmp_path / "dead.jsonl",
        )


def test_a_whole_number_rating_must_be_an_int(logger: InteractionLogger) -> None:
    """A rating of 4.0 is refused at the call, like 4.5."""
    with pytest.raises(InputError, match="rating"):
        logger.log_feedback("i-1", rating=4.0)


def test_unwritable_dead_letter_file_is_refused_up_front(tmp_path: Path) -> None:
    """A dead-letter path that cannot be written stops the logger being built."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="dead-letter file"):
        InteractionLogger(
            NoTables(),
            use_case="support",
            pseudonym_key=b"k" * 32,
            dead_letter_path=blocker / "dead.jsonl",
        )


def test_template_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """A template file in another encoding is refused, naming the file."""
    from llmops.prompts.template import load_template

    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="bin.yaml is not UTF-8"):
        load_template(path)
