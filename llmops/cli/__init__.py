"""The ``llmops`` command line: the local platform, ingestion, search, plans."""

from __future__ import annotations

import sys

import click

from llmops.errors import LlmopsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="llmops-platform")
def cli() -> None:
    """Run and use the LLMOps platform: locally, or against a cloud stack."""


def _register() -> None:
    # Each module defines one click command or group named ``command``.
    from llmops.cli import (
        delete,
        demo,
        erase_user,
        ingest,
        local,
        pipelines,
        plan,
        prompts,
        report,
        search,
    )

    for module in (
        delete,
        demo,
        erase_user,
        ingest,
        local,
        pipelines,
        plan,
        prompts,
        report,
        search,
    ):
        cli.add_command(module.command)


_register()


def main() -> None:
    """Entry point: platform errors print as one clear line, not a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except LlmopsError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
