"""``llmops erase-user ID``: delete one user's rows from every monitoring table."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llmops import runtime
from llmops.cli._options import target_from, target_options
from llmops.monitoring import erase_user
from llmops.monitoring.pseudonyms import (
    LOCAL_DEAD_LETTER_FILE,
    local_pseudonym_key,
    pseudonym_key_from_env,
)
from llmops.targets import state_dir as resolve_state_dir

# Exit status when some rows could not be deleted yet (BigQuery's streaming buffer).
EXIT_PENDING = 3


@click.command("erase-user")
@click.argument("user_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--dead-letter",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The logger's dead-letter file to clean too (local: in the state dir).",
)
@target_options
def command(
    user_id: str,
    yes: bool,
    dead_letter: Path | None,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Delete USER_ID's rows (by pseudonym) from every table, and say how many."""
    target = target_from(stack_outputs, state_dir)
    if target.kind == "local":
        folder = resolve_state_dir(state_dir)
        key = local_pseudonym_key(folder)
        dead_letter = dead_letter or folder / LOCAL_DEAD_LETTER_FILE
    else:
        key = pseudonym_key_from_env()
    if not yes and not click.confirm(
        f"Delete every row of this user from {target.description}?"
    ):
        click.echo("nothing erased")
        sys.exit(1)
    result = erase_user(
        runtime.table_store(target.settings()),
        user_id,
        pseudonym_key=key,
        dead_letter_path=dead_letter,
    )
    for table, count in sorted(result.deleted.items()):
        click.echo(f"{table}: {count} rows deleted")
    if result.dead_letter_rows:
        click.echo(f"dead-letter file: {result.dead_letter_rows} rows removed")
    click.echo(f"{result.total} rows erased for pseudonym {result.pseudonym[:12]}…")
    if not result.complete:
        for table, count in sorted(result.pending.items()):
            click.echo(
                f"{table}: {count} rows are still in BigQuery's streaming buffer and "
                "cannot be deleted yet; run this command again in half an hour",
                err=True,
            )
        sys.exit(EXIT_PENDING)
