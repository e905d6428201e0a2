"""Interaction and feedback logging on the BigQuery emulator, and user erasure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from llmops.backends.bigquery import BigQueryTableStore
from llmops.errors import ConfigError, InputError, TransientError
from llmops.monitoring import (
    InteractionLogger,
    SafetyAttribute,
    erase_user,
    pseudonym,
    pseudonym_key_from_env,
)
from llmops.monitoring.pseudonyms import local_pseudonym_key
from llmops.prompts import parse_template
from tests.usecase.conftest import PSEUDONYM_KEY


def _logger(tables: Any, tmp_path: Path, **kwargs: Any) -> InteractionLogger:
    kwargs.setdefault("batch_size", 10)
    return InteractionLogger(
        tables,
        use_case="support",
        pseudonym_key=PSEUDONYM_KEY,
        dead_letter_path=tmp_path / "dead-letter.jsonl",
        sleep=lambda seconds: None,
        **kwargs,
    )


def _log(log: InteractionLogger, n: int = 0, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "prompt": f"Question {n}: how do I reset my router? I love this product.",
        "response": f"Hold the reset button for ten seconds ({n}).",
        "model_name": "gemini-2.0-flash",
        "model_version": "001",
        "template_name": "answer",
        "template_version": 3,
        "template_label": "prod",
        "latency_ms": 120.0,
        "input_tokens": 14,
        "output_tokens": 9,
        "safety_attributes": [SafetyAttribute("HARM_CATEGORY_HARASSMENT", "LOW", 0.1)],
        "guardrails": ["pii"],
        "retrieved_chunk_ids": ["doc.md#0", "doc.md#1"],
        "conversation_id": "c1",
        "turn": n + 1,
        "user_id": "alice@example.com",
    }
    fields.update(overrides)
    return log.log_interaction(**fields)


def _rows(tables: BigQueryTableStore, table: str) -> list[dict[str, Any]]:
    return tables.query(f"SELECT * FROM {{dataset}}.{table}")


def test_interaction_and_feedback_rows_hold_every_field(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """A logged interaction stores its fields, sizes, sentiment and a pseudonym."""
    with _logger(local_tables, tmp_path) as log:
        interaction = _log(log)
        log.log_feedback(
            interaction, thumbs=1, comment="great", user_id="alice@example.com"
        )
        log.log_feedback(
            interaction, candidate_a="one", candidate_b="two", preferred="b", rating=4
        )
        assert log.pending() == 3

    (row,) = _rows(local_tables, "interactions")
    assert row["interaction_id"] == interaction
    assert row["template_version"] == 3 and row["model_version"] == "001"
    assert row["input_chars"] == len(row["prompt"]) and row["output_chars"] == len(
        row["response"]
    )
    assert row["prompt_sentiment"] > 0.05  # "I love this product"
    assert row["retrieved_chunk_ids"] == ["doc.md#0", "doc.md#1"]
    assert row["safety_attributes"][0]["category"] == "HARM_CATEGORY_HARASSMENT"
    assert row["blocked"] is False
    assert row["user_pseudonym"] == pseudonym("alice@example.com", PSEUDONYM_KEY)
    assert "alice" not in json.dumps(row, default=str)
    feedback = {r["preferred"]: r for r in _rows(local_tables, "feedback")}
    assert feedback[None]["thumbs"] == 1 and feedback[None]["comment"] == "great"
    assert feedback["b"]["candidate_b"] == "two" and feedback["b"]["rating"] == 4


def test_rows_are_batched(local_tables: BigQueryTableStore, tmp_path: Path) -> None:
    """Rows wait until the batch fills; a full batch is written at once."""
    log = _logger(local_tables, tmp_path, batch_size=3)
    _log(log, 0)
    _log(log, 1)
    assert _rows(local_tables, "interactions") == []
    _log(log, 2)
    assert log.pending() == 0
    assert len(_rows(local_tables, "interactions")) == 3


def test_a_rejected_row_surfaces_and_lands_in_the_dead_letter_file(
    local_tables: BigQueryTableStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The table refuses one bad row: the rest land; it is reported and kept."""
    log = _logger(local_tables, tmp_path)
    good = _log(log, 0)
    # The logger checks what it knows; the table's schema checks the rest.
    bad = _log(log, 1, model_version=12345)  # the column takes strings
    also_good = _log(log, 2)
    result = log.flush()

    assert result.inserted == 2
    assert [r.row["interaction_id"] for r in result.rejected] == [bad]
    assert "model_version" in result.rejected[0].reason
    assert {r["interaction_id"] for r in _rows(local_tables, "interactions")} == {
        good,
        also_good,
    }
    (line,) = (tmp_path / "dead-letter.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert entry["table"] == "interactions" and entry["row"]["interaction_id"] == bad
    assert "model_version" in entry["reason"]
    assert any(
        "monitoring.row_rejected" in r.getMessage() and bad in r.getMessage()
        for r in caplog.records
    )


class _Flaky:
    """A TableStore that fails the first inserts with TransientError, then forwards."""

    def __init__(self, tables: BigQueryTableStore, failures: int) -> None:
        self.tables, self.failures, self.calls = tables, failures, 0

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError("BigQuery answered 503; retry later")
        self.tables.insert(table, rows)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return self.tables.query(sql, params)


def test_transient_errors_are_retried(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """Two 503s then success: the batch lands once, nothing is dead-lettered."""
    flaky = _Flaky(local_tables, failures=2)
    log = _logger(flaky, tmp_path, attempts=3)
    _log(log)
    result = log.flush()
    assert (result.inserted, result.rejected, flaky.calls) == (1, [], 3)
    assert len(_rows(local_tables, "interactions")) == 1
    assert not (tmp_path / "dead-letter.jsonl").exists()


def test_rows_still_failing_after_retries_are_dead_lettered(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """When every attempt fails, the rows go to the dead-letter file, not away."""
    log = _logger(_Flaky(local_tables, failures=10), tmp_path, attempts=3)
    interaction = _log(log)
    result = log.flush()
    assert result.inserted == 0
    assert "after 3 attempts" in result.rejected[0].reason
    entry = json.loads((tmp_path / "dead-letter.jsonl").read_text())
    assert entry["row"]["interaction_id"] == interaction


def test_metrics_only_mode_stores_no_text(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """Sizes, scores and flags are kept; prompt, response and feedback text are not."""
    with _logger(local_tables, tmp_path, metrics_only=True) as log:
        interaction = _log(log, prompt="What a terrible, awful day", response="Sorry!")
        log.log_feedback(
            interaction,
            thumbs=-1,
            comment="rude",
            corrected_response="Apologies.",
            candidate_a="x",
            candidate_b="y",
            preferred="a",
        )

    (row,) = _rows(local_tables, "interactions")
    assert (row["prompt"], row["response"], row["metrics_only"]) == (None, None, True)
    assert (row["input_chars"], row["output_chars"]) == (26, 6)
    assert row["prompt_sentiment"] < -0.05
    (feedback,) = _rows(local_tables, "feedback")
    assert [
        feedback[k]
        for k in ("comment", "corrected_response", "candidate_a", "candidate_b")
    ] == [None] * 4
    assert (feedback["thumbs"], feedback["preferred"]) == (-1, "a")


def test_invalid_feedback_is_refused_naming_the_field(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """Bad thumbs or rating, or a preference without candidates, is an error."""
    log = _logger(local_tables, tmp_path)
    with pytest.raises(InputError, match="thumbs"):
        log.log_feedback("i1", thumbs=5)
    with pytest.raises(InputError, match="rating"):
        log.log_feedback("i1", rating=0)
    with pytest.raises(InputError, match="candidate_a and candidate_b"):
        log.log_feedback("i1", preferred="a")
    with pytest.raises(InputError, match="feedback is empty"):
        log.log_feedback("i1")
    assert log.pending() == 0


def test_erasing_a_user_leaves_none_of_their_rows(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """Every row with the user's pseudonym goes, with feedback on their interactions."""
    with _logger(local_tables, tmp_path) as log:
        mine = [_log(log, n) for n in range(3)]
        theirs = _log(log, 9, user_id="bob@example.com")
        log.log_feedback(mine[0], thumbs=1, user_id="alice@example.com")
        log.log_feedback(
            mine[1], rating=2, user_id="carol@example.com"
        )  # on alice's answer
        log.log_feedback(theirs, thumbs=-1, user_id="bob@example.com")
    dead_letter = tmp_path / "dead-letter.jsonl"
    alice = pseudonym("alice@example.com", PSEUDONYM_KEY)
    dead_letter.write_text(
        json.dumps({"table": "interactions", "row": {"user_pseudonym": alice}})
        + "\n"
        + json.dumps({"table": "interactions", "row": {"user_pseudonym": "other"}})
        + "\n"
    )

    result = erase_user(
        local_tables,
        "alice@example.com",
        pseudonym_key=PSEUDONYM_KEY,
        dead_letter_path=dead_letter,
    )

    assert result.deleted == {"interactions": 3, "feedback": 2}
    assert (result.pending, result.dead_letter_rows, result.complete) == ({}, 1, True)
    interactions = _rows(local_tables, "interactions")
    assert [r["interaction_id"] for r in interactions] == [theirs]
    assert [r["interaction_id"] for r in _rows(local_tables, "feedback")] == [theirs]
    assert alice not in dead_letter.read_text()
    again = erase_user(local_tables, "alice@example.com", pseudonym_key=PSEUDONYM_KEY)
    assert again.total == 0


class _StreamingBuffer:
    """A TableStore whose DELETE fails as BigQuery's does on rows in the buffer."""

    def __init__(self, tables: BigQueryTableStore) -> None:
        self.tables = tables

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self.tables.insert(table, rows)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        if sql.startswith("DELETE"):
            raise InputError(
                "query rejected (UPDATE or DELETE statement over table would affect "
                "rows in the streaming buffer, which is not supported)"
            )
        return self.tables.query(sql, params)


def test_rows_in_the_streaming_buffer_are_reported_pending(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """Rows BigQuery cannot delete yet are counted as pending, not as erased."""
    with _logger(local_tables, tmp_path) as log:
        _log(log)
    result = erase_user(
        _StreamingBuffer(local_tables), "alice@example.com", pseudonym_key=PSEUDONYM_KEY
    )
    assert result.pending == {"interactions": 1}
    assert result.deleted == {"feedback": 0}
    assert not result.complete


def test_the_pseudonym_key_must_be_set_and_long_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No key, or a short one, is a configuration error naming the variable."""
    monkeypatch.delenv("LLMOPS_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("LLMOPS_PSEUDONYM_KEY_FILE", raising=False)
    with pytest.raises(ConfigError, match="LLMOPS_PSEUDONYM_KEY is not set"):
        pseudonym_key_from_env()
    monkeypatch.setenv("LLMOPS_PSEUDONYM_KEY", "short")
    with pytest.raises(ConfigError, match="at least 16"):
        pseudonym_key_from_env()
    monkeypatch.setenv("LLMOPS_PSEUDONYM_KEY", "k" * 32)
    key = pseudonym_key_from_env()
    assert pseudonym("u", key) == pseudonym("u", key) != pseudonym("u", b"j" * 32)


def test_the_key_can_come_from_a_file_and_the_local_platform_exports_its_own(
    local_emulators: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LLMOPS_PSEUDONYM_KEY_FILE is read; `local up` points it at the CLI's key."""
    monkeypatch.delenv("LLMOPS_PSEUDONYM_KEY", raising=False)
    env = local_emulators.env()
    key = pseudonym_key_from_env(env)
    assert key == local_pseudonym_key(Path(local_emulators.state.root))

    secret = tmp_path / "key"
    secret.write_text("s" * 40 + "\n")
    assert pseudonym_key_from_env({"LLMOPS_PSEUDONYM_KEY_FILE": str(secret)}) == (
        b"s" * 40
    )
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=r"LLMOPS_PSEUDONYM_KEY_FILE=.*nowhere"):
        pseudonym_key_from_env({"LLMOPS_PSEUDONYM_KEY_FILE": str(missing)})


def test_a_rendered_prompt_logs_its_text_and_names_its_template(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """Passing the RenderedPrompt fills in template name, version and label."""
    template = parse_template(
        {
            "name": "answer",
            "model": "gemini-2.0-flash",
            "variables": {"question": "the question"},
            "template": "Answer {{ question }} briefly.",
        }
    )
    rendered = template.render({"question": "why"}, version=4, label="prod")
    with _logger(local_tables, tmp_path) as log:
        log.log_interaction(
            prompt=rendered, response="Because.", model_name="gemini-2.0-flash"
        )
        log.log_interaction(
            prompt=rendered,
            response="Because.",
            model_name="gemini-2.0-flash",
            template_label="canary",
        )
    rows = sorted(
        _rows(local_tables, "interactions"), key=lambda r: r["template_label"]
    )
    assert [
        (r["prompt"], r["template_name"], r["template_version"], r["template_label"])
        for r in rows
    ] == [
        ("Answer why briefly.", "answer", 4, "canary"),
        ("Answer why briefly.", "answer", 4, "prod"),
    ]


def test_the_local_key_follows_a_key_file_when_one_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """erase-user on the local platform uses the app's key file, if it names one."""
    monkeypatch.delenv("LLMOPS_PSEUDONYM_KEY", raising=False)
    app_key = tmp_path / "app.key"
    app_key.write_text("a" * 32)
    monkeypatch.setenv("LLMOPS_PSEUDONYM_KEY_FILE", str(app_key))
    assert local_pseudonym_key(tmp_path / "state") == b"a" * 32
    app_key.write_text("short")
    with pytest.raises(ConfigError, match=r"LLMOPS_PSEUDONYM_KEY_FILE=.*app.key: "):
        local_pseudonym_key(tmp_path / "state")


def test_a_prompt_object_is_refused_with_how_to_render_it(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """Passing the Prompt instead of its rendering names the fix."""
    from llmops.prompts.client import Prompt

    template = parse_template(
        {"name": "a", "model": "m", "variables": ["q"], "template": "{{ q }}"}
    )
    prompt = Prompt(template, "a", "prod", 1, template.content_hash(), "registry")
    with (
        _logger(local_tables, tmp_path) as log,
        pytest.raises(
            InputError, match=r"RenderedPrompt that prompt.render\(...\) returns"
        ),
    ):
        log.log_interaction(prompt=prompt, response="r", model_name="m")
