"""``llmops search "question"``: the nearest chunks and where they come from."""

from __future__ import annotations

import textwrap

import click

from llmops import runtime
from llmops.cli._options import target_from, target_options
from llmops.contract import RESTRICT_CONTENT_TYPE, RESTRICT_USE_CASE
from llmops.retrieval import Hit


@click.command("search")
@click.argument("question")
@click.option("-k", "--top", "k", default=5, show_default=True, help="How many hits.")
@click.option("--use-case", multiple=True, help="Only this use case's documents.")
@click.option("--content-type", multiple=True, help="Only text, markdown, html, pdf...")
@target_options
def command(
    question: str,
    k: int,
    use_case: tuple[str, ...],
    content_type: tuple[str, ...],
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Print the top hits for QUESTION with source object, chunk, score, snippet."""
    target = target_from(stack_outputs, state_dir)
    restricts = {}
    if use_case:
        restricts[RESTRICT_USE_CASE] = list(use_case)
    if content_type:
        restricts[RESTRICT_CONTENT_TYPE] = list(content_type)
    hits = runtime.build_retriever(target.settings()).search(
        question, k=k, restricts=restricts or None
    )
    if not hits:
        click.echo("no hits: is anything ingested? try `llmops ingest PATH`")
    for rank, hit in enumerate(hits, start=1):
        click.echo(format_hit(rank, hit))


def format_hit(rank: int, hit: Hit, width: int = 160) -> str:
    chunk = hit.chunk
    body = chunk.text[len(chunk.heading) :].strip() if chunk.heading else chunk.text
    snippet = textwrap.shorten(" ".join(body.split()), width=width, placeholder=" …")
    return (
        f"{rank}. {hit.score:.3f}  {chunk.object}  chunk {chunk.index}"
        + (f"  [{chunk.heading}]" if chunk.heading else "")
        + f"\n   {snippet}"
    )
