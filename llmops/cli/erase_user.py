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
# Exit status when unreadable dead-letter lines hold the user's pseudonym.
EXIT_REVIEW = 4


@click.command("erase-user")
@click.argument("user_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--dead-letter",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        "The logger's dead-letter file to clean too (local: in the state dir); "
        "it must exist."
    ),
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
        if dead_letter is None and (folder / LOCAL_DEAD_LETTER_FILE).exists():
            # The local logger's file exists once a row was rejected.
            dead_letter = folder / LOCAL_DEAD_LETTER_FILE
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
    if result.dead_letter_unreadable:
        click.echo(
            f"dead-letter file {dead_letter}: {result.dead_letter_unreadable} "
            "unreadable lines kept unchanged (not the logger's JSON records; "
            "nothing is dropped that cannot be read)",
            err=True,
        )
    for table, count in sorted(result.pending.items()):
        click.echo(
            f"{table}: {count} rows are still in BigQuery's streaming buffer and "
            "cannot be deleted yet; run this command again in half an hour",
            err=True,
        )
    if result.dead_letter_suspects:
        lines = ", ".join(str(number) for number in result.dead_letter_suspects)
        click.echo(
            f"dead-letter file {dead_letter}: unreadable lines {lines} hold this "
            "user's pseudonym and were kept; remove them by hand",
            err=True,
        )
    if result.pending:
        sys.exit(EXIT_PENDING)
    if result.dead_letter_suspects:
        sys.exit(EXIT_REVIEW)
