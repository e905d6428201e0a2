"""``llmops search "question"``: the nearest chunks and where they come from."""

from __future__ import annotations

import re
import textwrap

import click

from llmops import runtime
from llmops.cli._options import target_from, target_options
from llmops.contract import RESTRICT_CONTENT_TYPE, RESTRICT_USE_CASE
from llmops.ingest.extract import CONTENT_TYPES
from llmops.retrieval import Hit


@click.command("search")
@click.argument("question")
@click.option("-k", "--top", "k", default=5, show_default=True, help="How many hits.")
@click.option("--use-case", multiple=True, help="Only this use case's documents.")
@click.option(
    "--content-type",
    multiple=True,
    type=click.Choice(CONTENT_TYPES),
    help="Only documents of this type.",
)
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
    if not hits and restricts:
        click.echo(
            "no hits within the filters "
            + ", ".join(f"{k}={'|'.join(v)}" for k, v in sorted(restricts.items()))
            + "; check the use case and content type, or search without them"
        )
    elif not hits:
        click.echo("no hits: is anything ingested? try `llmops ingest PATH`")
    for rank, hit in enumerate(hits, start=1):
        click.echo(format_hit(rank, hit, query=question))


def format_hit(rank: int, hit: Hit, width: int = 160, query: str = "") -> str:
    """One hit: rank, score, source, chunk, heading, and the passage that
    matches the query best (the chunk's start when there is no query)."""
    chunk = hit.chunk
    body = chunk.text[len(chunk.heading) :].strip() if chunk.heading else chunk.text
    snippet = textwrap.shorten(
        best_passage(" ".join(body.split()), query, width),
        width=width,
        placeholder=" …",
    )
    return (
        f"{rank}. {hit.score:.3f}  {chunk.object}  chunk {chunk.index}"
        + (f"  [{chunk.heading}]" if chunk.heading else "")
        + f"\n   {snippet}"
    )


_WORD = re.compile(r"[a-z0-9_]{3,}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def best_passage(text: str, query: str, width: int) -> str:
    """The run of sentences, about ``width`` long, sharing most query words."""
    words = set(_WORD.findall(query.lower()))
    sentences = _SENTENCE_END.split(text)
    if not words or len(sentences) < 2:
        return text
    shared = [len(words & set(_WORD.findall(s.lower()))) for s in sentences]
    best, best_score = 0, -1.0
    for i, count in enumerate(shared):
        # A sentence's own words count fully, the next one's by half.
        following = shared[i + 1] if i + 1 < len(shared) else 0
        score = count + 0.5 * following
        if score > best_score:
            best, best_score = i, score
    passage = " ".join(sentences[best:])
    return passage if best == 0 else "… " + passage
