"""``llmops demo``: the main job, end to end on the local platform."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from llmops import demo, runtime
from llmops.cli.ingest import ingest_files
from llmops.cli.search import format_hit
from llmops.targets import local_target, state_dir


@click.command("demo")
@click.option(
    "--docs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Also ingest the PDF, HTML, Markdown and .docx files under this folder.",
)
@click.option("--state-dir", "state", default=None, help="Local platform state folder.")
@click.option("--keep/--no-keep", default=False, help="Leave the platform running.")
@click.option("--timeout", default=900.0, show_default=True, help="Seconds to wait.")
def command(docs: Path | None, state: str | None, keep: bool, timeout: float) -> None:
    """Start the local platform, ingest real documents, search them."""
    from llmops.local import LocalPlatform

    console = Console(stderr=True)
    clock = demo.Stopwatch()
    folder = state_dir(state)
    # A kept platform must outlive this command; otherwise it dies with it.
    platform = LocalPlatform(folder, stop_with_parent=not keep)
    started = not platform.start().reused
    try:
        target = local_target(folder)
        target.activate()
        console.print(f"platform ready in {clock.seconds():.1f} s ({folder})")
        with demo.corpus(docs) as files:
            console.print(f"ingesting {len(files)} documents")
            results = ingest_files(
                settings_target=target,
                files=files,
                use_case=None,
                timeout=timeout,
                console=console,
            )
        failed = [r for r in results if r.status != "done"]
        for result in failed:
            click.echo(
                f"not ingested: {result.upload.name}: {result.status} ({result.reason})"
            )

        retriever = runtime.build_retriever(target.settings())
        answered = 0
        for probe in demo.PROBES:
            hits = retriever.search(probe.question, k=3)
            ok = bool(hits) and hits[0].chunk.object in probe.answers
            answered += ok
            click.echo(
                f"\nQ: {probe.question}  [{'top hit answers' if ok else 'MISS'}]"
            )
            for rank, hit in enumerate(hits, start=1):
                click.echo(format_hit(rank, hit, width=120))
        click.echo(
            f"\nsearches answered by their top hit: {answered}/{len(demo.PROBES)}"
        )
        click.echo(
            f"documents={sum(r.status == 'done' for r in results)} "
            f"chunks={sum(r.chunks for r in results)} "
            f"failed={sum(r.status in ('failed', 'timeout') for r in results)} "
            f"seconds={clock.seconds():.1f}"
        )
        if any(r.status == "timeout" for r in results):
            sys.exit(1)
    finally:
        if started and not keep:
            platform.stop()
