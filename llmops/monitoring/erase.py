"""``erase_user``: delete one person's rows from every monitoring table (GDPR).

The user is found by pseudonym (the keyed hash the logger stored). Every
table of the contract whose schema has a ``user_pseudonym`` column is
cleared of that pseudonym, and feedback on the user's interactions goes
too, whoever gave it, since it may quote them. Rows of the logger's
dead-letter file are removed as well when its path is given: the file must
exist and be readable and writable, which is checked before any row is
deleted. Lines of it that are not the logger's JSON records (another
encoding, a truncated write, a hand edit) are kept byte for byte and counted;
those among them that hold the user's pseudonym are listed by line number,
and the erasure is not complete until someone removes them.

BigQuery's DML cannot delete rows streamed with ``tabledata.insertAll`` (as
the BigQuery table store inserts) in the last 30 minutes or so: the DELETE
fails for the whole table with "would affect rows in the streaming buffer".
Those tables are reported as pending with their row count, the command exits
non-zero, and running it again once the buffer has drained finishes the job;
nothing is reported erased that was not. Rows written through the Storage
Write API (gRPC) in committed mode, or by load jobs, are deletable at once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from llmops import contract as c
from llmops.backends.base import TableStore
from llmops.errors import ConfigError, InputError, LlmopsError
from llmops.monitoring.pseudonyms import pseudonym

logger = logging.getLogger(__name__)

STREAMING_BUFFER = "streaming buffer"


@dataclass
class ErasureResult:
    """Rows deleted per table, and rows that could not be deleted yet."""

    pseudonym: str
    deleted: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    dead_letter_rows: int = 0
    # Lines of the dead-letter file that could not be read, kept unchanged.
    dead_letter_unreadable: int = 0
    # Line numbers of those that hold the user's pseudonym: remove them by hand.
    dead_letter_suspects: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.pending and not self.dead_letter_suspects

    @property
    def total(self) -> int:
        return sum(self.deleted.values()) + self.dead_letter_rows


def user_tables() -> list[str]:
    """The contract's tables that hold a user pseudonym."""
    return [
        name
        for name in c.TABLES
        if any(f["name"] == "user_pseudonym" for f in c.table_spec(name).fields)
    ]


def _condition(table: str) -> str:
    # Feedback on the user's interactions names them too; it goes with them.
    if table == c.TABLE_FEEDBACK:
        return (
            "user_pseudonym = @pseudonym OR interaction_id IN ("
            "SELECT interaction_id FROM {dataset}.interactions "
            "WHERE user_pseudonym = @pseudonym)"
        )
    return "user_pseudonym = @pseudonym"


def _count(tables: TableStore, table: str, params: dict[str, str]) -> int:
    rows = tables.query(
        f"SELECT COUNT(*) AS n FROM {{dataset}}.{table} WHERE {_condition(table)}",
        params,
    )
    return int(rows[0]["n"]) if rows else 0


def erase_user(
    tables: TableStore,
    user_id: str,
    *,
    pseudonym_key: bytes,
    dead_letter_path: Path | str | None = None,
) -> ErasureResult:
    """Delete the user's rows everywhere; say how many, and what is pending."""
    result = ErasureResult(pseudonym=pseudonym(user_id, pseudonym_key))
    params = {"pseudonym": result.pseudonym}
    # A dead-letter file that cannot be cleaned stops the erasure before any
    # row is deleted, so that one run does all of it.
    if dead_letter_path is not None:
        dead_letter_path = Path(dead_letter_path)
        _check_dead_letter(dead_letter_path)

    # Feedback before interactions: its condition reads the interactions.
    ordered = sorted(user_tables(), key=lambda name: name != c.TABLE_FEEDBACK)
    for table in ordered:
        before = _count(tables, table, params)
        if before == 0:
            result.deleted[table] = 0
            continue
        # Limitation: rows streamed in the last half hour are reported pending
        # instead of deleted, until the table store writes through the Storage
        # Write API, whose recent rows DML can delete.
        try:
            tables.query(
                f"DELETE FROM {{dataset}}.{table} WHERE {_condition(table)}", params
            )
        except LlmopsError as error:
            if STREAMING_BUFFER not in str(error).lower():
                raise
            result.pending[table] = before
            logger.warning("monitoring.erase_pending table=%s rows=%d", table, before)
            continue
        left = _count(tables, table, params)
        result.deleted[table] = before - left
        if left:
            result.pending[table] = left
        logger.info(
            "monitoring.erased table=%s rows=%d pending=%d", table, before - left, left
        )

    if dead_letter_path is not None:
        _scrub_dead_letter(dead_letter_path, result)
    return result


def _read_dead_letter(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"dead-letter file {path} does not exist; nothing was erased. Check the "
            "path: a mistyped one would leave the user's rejected rows in the real "
            "file. Leave the dead-letter file out if the logger never wrote one"
        ) from None
    except OSError as error:
        raise ConfigError(
            f"dead-letter file {path} cannot be read ({error.strerror or error}); "
            "nothing was erased. Give a readable file, or run as a user who can "
            "read it"
        ) from None


def _check_dead_letter(path: Path) -> None:
    """Raise unless the dead-letter file can be read and rewritten."""
    _read_dead_letter(path)
    folder = path.parent
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
        raise ConfigError(
            f"dead-letter file {path} cannot be rewritten (it, or its folder "
            f"{folder}, is not writable); nothing was erased. Run as a user who "
            "can write both"
        )


def _user_row(line: bytes, user: str) -> bool | None:
    """Whether a dead-letter line is a row of ``user``; None when unreadable."""
    try:
        record = json.loads(line.decode("utf-8"))
    # UnicodeDecodeError and JSONDecodeError are ValueErrors; deep nesting
    # makes the parser recurse too far.
    except (ValueError, RecursionError):
        return None
    row = record.get("row") if isinstance(record, dict) else None
    if not isinstance(row, dict):
        return None
    return row.get("user_pseudonym") == user


def _scrub_dead_letter(path: Path, result: ErasureResult) -> None:
    """Drop the user's rows from the file; keep every other line byte for byte."""
    # Split on newlines only: the logger writes one JSON record per line, and
    # a record's text may hold other line breaks (U+2028, a lone CR).
    pieces = _read_dead_letter(path).split(b"\n")
    kept: list[bytes] = []
    verdict: bool | None = False
    for number, piece in enumerate(pieces, start=1):
        verdict = _user_row(piece, result.pseudonym) if piece.strip() else False
        if verdict is True:
            result.dead_letter_rows += 1
            continue
        if verdict is None:
            result.dead_letter_unreadable += 1
            if result.pseudonym.encode("ascii") in piece:
                result.dead_letter_suspects.append(number)
        kept.append(piece)
    if verdict is True:
        # The last line went: the file still ends with a newline for the logger.
        kept.append(b"")
    if result.dead_letter_unreadable:
        logger.warning(
            "monitoring.dead_letter_unreadable path=%s lines=%d",
            path,
            result.dead_letter_unreadable,
        )
    if result.dead_letter_rows:
        partial = path.with_name(f".{path.name}.erasing")
        partial.write_bytes(b"\n".join(kept))
        # The file holds personal data: the new one is as private as the old.
        shutil.copymode(path, partial)
        partial.replace(path)
