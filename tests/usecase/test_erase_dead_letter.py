"""erase_user and the dead-letter file: nothing unreadable is lost, nothing missed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from llmops.backends.bigquery import BigQueryTableStore
from llmops.errors import ConfigError, InputError
from llmops.monitoring import InteractionLogger, erase_user, pseudonym
from tests.usecase.conftest import PSEUDONYM_KEY

ALICE = "alice@example.com"


def _seed(tables: BigQueryTableStore, tmp_path: Path) -> None:
    with InteractionLogger(
        tables,
        use_case="support",
        pseudonym_key=PSEUDONYM_KEY,
        dead_letter_path=tmp_path / "logger-dead-letter.jsonl",
    ) as log:
        log.log_interaction(prompt="p", response="r", model_name="m", user_id=ALICE)


def _count(tables: BigQueryTableStore) -> int:
    rows = tables.query("SELECT COUNT(*) AS n FROM {dataset}.interactions")
    return int(rows[0]["n"])


def _record(user: str, **extra: Any) -> bytes:
    row = {"interaction_id": "i", "user_pseudonym": user, **extra}
    return json.dumps({"table": "interactions", "row": row}).encode() + b"\n"


def test_unreadable_lines_are_kept_byte_for_byte_and_counted(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """A JSON list, non-UTF-8 bytes and a torn line stay; the user's rows go."""
    _seed(local_tables, tmp_path)
    alice = pseudonym(ALICE, PSEUDONYM_KEY)
    odd = [
        b"[1]\n",
        b"\xff\xfe not utf-8 \x80\n",
        b'{"table": "interactions"}\n',
        b'{"table": "interactions", "row": {"user_pseudonym": "' + alice.encode(),
    ]
    other = _record("someone-else", prompt="line\u2028break")
    path = tmp_path / "dead-letter.jsonl"
    path.write_bytes(_record(alice) + odd[0] + odd[1] + other + odd[2] + odd[3])

    result = erase_user(
        local_tables, ALICE, pseudonym_key=PSEUDONYM_KEY, dead_letter_path=path
    )

    assert result.deleted["interactions"] == 1
    assert (result.dead_letter_rows, result.dead_letter_unreadable) == (1, 4)
    assert result.dead_letter_suspects == [6]
    assert not result.complete
    assert path.read_bytes() == odd[0] + odd[1] + other + odd[2] + odd[3]


def test_the_users_last_line_without_a_newline_is_removed_cleanly(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """The file still ends with a newline, so the logger's next record stands alone."""
    alice = pseudonym(ALICE, PSEUDONYM_KEY)
    path = tmp_path / "dead-letter.jsonl"
    path.write_bytes(_record("bob") + _record(alice).rstrip(b"\n"))
    path.chmod(0o600)

    result = erase_user(
        local_tables, ALICE, pseudonym_key=PSEUDONYM_KEY, dead_letter_path=path
    )

    assert (result.dead_letter_rows, result.dead_letter_unreadable) == (1, 0)
    assert result.complete
    assert path.read_bytes() == _record("bob")
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_missing_dead_letter_file_stops_before_anything_is_deleted(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """A dead-letter path that does not exist is an error, and no row is deleted."""
    _seed(local_tables, tmp_path)
    missing = tmp_path / "nonexistent" / "x.jsonl"
    with pytest.raises(InputError, match=r"x\.jsonl does not exist; nothing was"):
        erase_user(
            local_tables, ALICE, pseudonym_key=PSEUDONYM_KEY, dead_letter_path=missing
        )
    assert _count(local_tables) == 1


def test_an_unreadable_dead_letter_file_stops_before_anything_is_deleted(
    local_tables: BigQueryTableStore, tmp_path: Path
) -> None:
    """A dead-letter path that is a folder, or cannot be read, deletes nothing."""
    _seed(local_tables, tmp_path)
    folder = tmp_path / "a-folder.jsonl"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"a-folder\.jsonl cannot be read"):
        erase_user(
            local_tables, ALICE, pseudonym_key=PSEUDONYM_KEY, dead_letter_path=folder
        )
    assert _count(local_tables) == 1


def test_a_read_only_dead_letter_file_stops_before_anything_is_deleted(
    local_tables: BigQueryTableStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead-letter file the command could not rewrite deletes nothing.

    Write access is what the OS reports for this user; it is reported as
    refused here, since a test run as root may write any file.
    """
    _seed(local_tables, tmp_path)
    path = tmp_path / "dead-letter.jsonl"
    path.write_bytes(_record(pseudonym(ALICE, PSEUDONYM_KEY)))
    real_access = os.access

    def access(target: object, mode: int) -> bool:
        if mode == os.W_OK and Path(str(target)) == path:
            return False
        return real_access(target, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(ConfigError, match="cannot be rewritten"):
        erase_user(
            local_tables, ALICE, pseudonym_key=PSEUDONYM_KEY, dead_letter_path=path
        )
    assert _count(local_tables) == 1
