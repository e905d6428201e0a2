"""``erase_user``: delete one person's rows from every monitoring table (GDPR).

The user is found by pseudonym (the keyed hash the logger stored). Every
table of the contract whose schema has a ``user_pseudonym`` column is
cleared of that pseudonym, and feedback on the user's interactions goes
too, whoever gave it, since it may quote them. Rows of the logger's
dead-letter file are removed as well when its path is given.

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
from dataclasses import dataclass, field
from pathlib import Path

from llmops import contract as c
from llmops.backends.base import TableStore
from llmops.errors import LlmopsError
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

    @property
    def complete(self) -> bool:
        return not self.pending

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
        result.dead_letter_rows = _scrub_dead_letter(
            Path(dead_letter_path), result.pseudonym
        )
    return result


def _scrub_dead_letter(path: Path, user: str) -> int:
    if not path.exists():
        return 0
    kept, removed = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line).get("row", {})
        except ValueError:
            kept.append(line)
            continue
        if isinstance(row, dict) and row.get("user_pseudonym") == user:
            removed += 1
        else:
            kept.append(line)
    if removed:
        partial = path.with_name(f".{path.name}.erasing")
        partial.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
        partial.replace(path)
    return removed
