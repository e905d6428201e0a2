"""``llmops delete OBJECT...``: remove documents and wait until they are gone."""

from __future__ import annotations

import sys
import time

import click

from llmops import runtime
from llmops.cli._options import target_from, target_options, wait_option
from llmops.contract import TABLE_INGESTION_EVENTS

_DELETED_SQL = f"""
SELECT object, generation, status, reason, removed_datapoints
FROM {{dataset}}.{TABLE_INGESTION_EVENTS}
WHERE event_type = 'deleted' AND object IN UNNEST(@objects)
"""


@click.command("delete")
@click.argument("objects", nargs=-1, required=True)
@wait_option(120.0)
@target_options
def command(
    objects: tuple[str, ...],
    timeout: float,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Delete OBJECTS (names in the docs bucket, as `llmops ingest` printed
    them) and wait until their chunks have left the index."""
    empty = [position for position, name in enumerate(objects, 1) if not name.strip()]
    if empty:
        raise click.BadParameter(
            f"object name {empty[0]} is empty; pass the names `llmops ingest` "
            "printed, such as handbook/leave.md",
            param_hint="OBJECTS",
        )
    target = target_from(stack_outputs, state_dir)
    settings = target.settings()
    store = runtime.object_store(settings)
    tables = runtime.table_store(settings)

    pending: dict[tuple[str, int], str] = {}
    missing = []
    for name in objects:
        generation = store.live_generation(settings.docs_bucket, name)
        if generation is None:
            missing.append(name)
            continue
        store.delete(settings.docs_bucket, name, if_generation_match=generation)
        pending[name, generation] = name
    for name in missing:
        click.echo(f"not found: {name} (no such object in {settings.docs_bucket})")

    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        rows = tables.query(_DELETED_SQL, {"objects": sorted(set(pending.values()))})
        for row in rows:
            key = (row["object"], int(row["generation"]))
            if key in pending:
                del pending[key]
                removed = row["removed_datapoints"] or 0
                click.echo(f"{row['status']} {row['object']} datapoints={removed}")
        if pending:
            time.sleep(0.5)
    for name, generation in pending:
        click.echo(f"timeout: {name}#{generation} has no deletion row after {timeout}s")
    if missing or pending:
        sys.exit(1)
