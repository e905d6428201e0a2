"""``llmops ingest PATH...``: upload documents and wait for their ingestion."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from llmops import runtime
from llmops.cli._options import target_from, target_options, wait_option
from llmops.contract import USE_CASE_NAME, USE_CASE_RULE
from llmops.ingest import client


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prefix", default="", help="Folder in the docs bucket to upload under.")
@click.option(
    "--use-case",
    default=None,
    callback=lambda _ctx, _param, value: _use_case(value),
    help="File the documents under a use case (the stack's use-case name).",
)
@wait_option(600.0)
@target_options
def command(
    paths: tuple[Path, ...],
    prefix: str,
    use_case: str | None,
    timeout: float,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Upload PATHS (files or folders) to the docs bucket and wait for each
    file's ingestion to finish or fail.

    A file is uploaded under its own name; the files under a folder under
    their paths relative to that folder; both below --prefix. Uploading to
    an existing name replaces that document's chunks.
    """
    target = target_from(stack_outputs, state_dir)
    settings = target.settings()
    results = ingest_files(
        settings_target=target,
        files=client.object_names(list(paths), prefix),
        use_case=use_case,
        timeout=timeout,
        console=Console(stderr=True, soft_wrap=True),
    )
    failed = [r for r in results if r.status not in ("done", "skipped")]
    click.echo(
        f"ingested={sum(r.status == 'done' for r in results)} "
        f"skipped={sum(r.status == 'skipped' for r in results)} failed={len(failed)} "
        f"chunks={sum(r.chunks for r in results)} bucket={settings.docs_bucket}"
    )
    if failed:
        sys.exit(1)


def _use_case(value: str | None) -> str | None:
    if value is not None and not USE_CASE_NAME.fullmatch(value):
        raise click.BadParameter(
            f"{value[:80]!r} is not a use-case name: {USE_CASE_RULE}"
        )
    return value


def ingest_files(
    *,
    settings_target,
    files: list[tuple[Path, str]],
    use_case: str | None,
    timeout: float,
    console: Console,
) -> list[client.Result]:
    """Upload and wait with a progress bar; print one line per file."""
    settings = settings_target.settings()
    objects = runtime.object_store(settings)
    tables = runtime.table_store(settings)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        uploading = progress.add_task("uploading", total=len(files))
        uploads = []
        for path, name in files:
            uploads += client.upload(
                objects, settings.docs_bucket, [(path, name)], use_case=use_case
            )
            progress.advance(uploading)
        progress.remove_task(uploading)
        ingesting = progress.add_task("ingesting", total=len(uploads))

        def show(result: client.Result) -> None:
            progress.advance(ingesting)
            mark = {"done": "[green]done[/]", "skipped": "[yellow]skipped[/]"}.get(
                result.status, f"[red]{result.status}[/]"
            )
            detail = f" chunks={result.chunks}" if result.status == "done" else ""
            reason = f" ({result.reason})" if result.reason else ""
            progress.console.print(
                f"{mark} {escape(result.upload.name)}{detail}{escape(reason)}",
                highlight=False,
            )

        return client.wait(tables, uploads, timeout=timeout, on_result=show)
