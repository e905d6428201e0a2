"""The interaction logger refuses values no monitoring row should hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.errors import ConfigError, InputError
from llmops.monitoring import InteractionLogger


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
    ],
)
def test_impossible_values_are_refused_by_name(
    logger: InteractionLogger, changes: dict, named: str
) -> None:
    """Each impossible value fails at the call, naming its argument."""
    arguments = {"prompt": "p", "response": "r", "model_name": "m", **changes}
    with pytest.raises(InputError, match=named):
        logger.log_interaction(**arguments)


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
