"""``llmops demo``: the main job, end to end on the local platform."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console

from llmops import demo, runtime
from llmops.cli.ingest import ingest_files
from llmops.cli.search import format_hit
from llmops.contract import ENV_PII_REDACTION, TABLE_INGESTION_EVENTS, TABLES
from llmops.errors import ConfigError
from llmops.monitoring import InteractionLogger, summary, write_report
from llmops.monitoring.pseudonyms import LOCAL_DEAD_LETTER_FILE, local_pseudonym_key
from llmops.monitoring.searches import (
    SEARCH_TEMPLATE_NAME,
    log_search,
    passages,
    register_search_template,
)
from llmops.prompts import PromptClient, PromptRegistry
from llmops.targets import Target, local_target, state_dir


@click.command("demo")
@click.option(
    "--docs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Also ingest the text, Markdown, HTML, PDF and .docx files under this folder.",
)
@click.option("--state-dir", "state", default=None, help="Local platform state folder.")
@click.option("--keep/--no-keep", default=False, help="Leave the platform running.")
@click.option(
    "--redact",
    is_flag=True,
    help="Turn PII redaction on and add a file of seeded personal data.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Ingest only the first N reference topics (a quicker run).",
)
@click.option("--timeout", default=900.0, show_default=True, help="Seconds to wait.")
def command(
    docs: Path | None,
    state: str | None,
    keep: bool,
    redact: bool,
    limit: int | None,
    timeout: float,
) -> None:
    """Start the local platform, ingest real documents, search them, report."""
    from llmops.local import LocalPlatform

    console = Console(stderr=True, soft_wrap=True)
    clock = demo.Stopwatch()
    folder = state_dir(state)
    wanted = {ENV_PII_REDACTION: "true"} if redact else {}
    # A kept platform must outlive this command; otherwise it dies with it.
    platform = LocalPlatform(folder, extra_env=wanted, stop_with_parent=not keep)
    started = not platform.start().reused
    try:
        running = (platform.state.read(platform.state.request_file) or {}).get(
            "function_env", {}
        )
        if running.get(ENV_PII_REDACTION, "") != wanted.get(ENV_PII_REDACTION, ""):
            raise ConfigError(
                f"the platform running in {folder} has PII redaction "
                f"{'on' if running.get(ENV_PII_REDACTION) else 'off'}; stop it with "
                f"`llmops local down --state-dir {folder}` and run the demo again"
            )
        target = local_target(folder)
        target.activate()
        console.print(f"platform ready in {clock.seconds():.1f} s ({folder})")
        if docs is not None:
            left_out = demo.unreadable_documents(docs)
            if left_out:
                kinds = sorted({p.suffix.lower() or "(no extension)" for p in left_out})
                console.print(
                    f"left out {len(left_out)} file(s) under {docs} of types "
                    f"extraction does not read: {', '.join(kinds)}"
                )
        with demo.corpus(docs, seeded=redact, limit=limit) as files:
            console.print(f"ingesting {len(files)} documents")
            results = ingest_files(
                settings_target=target,
                files=files,
                use_case=None,
                timeout=timeout,
                console=console,
            )
        for result in results:
            if result.status != "done":
                click.echo(
                    f"not ingested: {result.upload.name}: {result.status} "
                    f"({result.reason})"
                )

        _search_and_log(target, folder, platform.buckets["prompts"], redact=redact)
        if redact:
            _show_redaction(target)
        final = (
            f"documents={sum(r.status == 'done' for r in results)} "
            f"chunks={sum(r.chunks for r in results)} "
            f"failed={sum(r.status in ('failed', 'timeout') for r in results)} "
            f"seconds={clock.seconds():.1f}"
        )
    finally:
        if started and not keep:
            platform.stop()
            click.echo(
                "the platform stopped; `llmops local up` starts it again with "
                "these documents, and `llmops demo --keep` leaves it running"
            )
        elif keep:
            click.echo(
                f"the platform keeps running in {folder}; stop it with "
                f"`llmops local down --state-dir {folder}`"
            )
    # The job's result is its last line.
    click.echo(final)
    if any(r.status == "timeout" for r in results):
        sys.exit(1)


def _search_and_log(
    target: Target, folder: Path, prompts_bucket: str, *, redact: bool
) -> None:
    """Run the probe searches, log each as an interaction with feedback, report."""
    # The logger redacts as the platform's function does.
    settings = replace(target.settings(), pii_redaction=redact)
    redactor, detector = runtime.protection(settings)
    tables = runtime.table_store(settings)
    retriever = runtime.build_retriever(settings)
    # Load the model now, so the logged latencies are the searches' own.
    warm_up = getattr(runtime.embedder(settings), "warm_up", None)
    if warm_up is not None:
        warm_up()

    # Searches are logged under a registered template version; the feedback
    # says whether the top hit came from a topic that answers the question.
    registry = PromptRegistry(
        runtime.object_store(settings), prompts_bucket, events=tables
    )
    register_search_template(registry, author="llmops demo")
    prompt = PromptClient(registry).get(SEARCH_TEMPLATE_NAME)
    answered = 0
    # One conversation per run, its turns the probe questions.
    conversation = f"demo-{uuid.uuid4().hex[:12]}"
    with InteractionLogger(
        tables,
        use_case="demo",
        pseudonym_key=local_pseudonym_key(folder),
        dead_letter_path=folder / LOCAL_DEAD_LETTER_FILE,
        redactor=redactor,
        detector=detector,
    ) as log:
        for turn, probe in enumerate(demo.PROBES, start=1):
            started_at = time.perf_counter()
            found = retriever.search(probe.question, k=5)
            latency_ms = (time.perf_counter() - started_at) * 1000
            hits = found[:3]
            ok = bool(hits) and hits[0].chunk.object in probe.answers
            answered += ok
            interaction = log_search(
                log,
                prompt,
                probe.question,
                hits,
                latency_ms=latency_ms,
                model_name=settings.embedding_model.name,
                conversation_id=conversation,
                turn=turn,
                user_id="demo-user",
            )
            # The demo plays the reviewer, who knows which topics answer: a
            # thumb on the answer, and a preference of an answering passage
            # over one that does not answer, the pairs preference tuning uses.
            log.log_feedback(interaction, thumbs=1 if ok else -1)
            good = [h for h in found if h.chunk.object in probe.answers]
            bad = [h for h in found if h.chunk.object not in probe.answers]
            if good and bad:
                log.log_feedback(
                    interaction,
                    candidate_a=passages(good[:1]),
                    candidate_b=passages(bad[:1]),
                    preferred="a",
                )
            click.echo(
                f"\nQ: {probe.question}  [{'top hit answers' if ok else 'MISS'}]"
            )
            for rank, hit in enumerate(hits, start=1):
                click.echo(format_hit(rank, hit, width=120, query=probe.question))
    click.echo(
        f"\nsearches answered by their top hit: {answered}/{len(demo.PROBES)}; "
        f"logged as interactions of template {prompt.name} v{prompt.version}, "
        "with feedback"
    )

    report_path = folder.parent / "report.html"
    report = write_report(tables, report_path, target=target.description)
    click.echo(summary(report))
    click.echo(f"report: {report_path}")


def _show_redaction(target: Target) -> None:
    """Report the info types found, and look for the seeded values everywhere."""
    settings = target.settings()
    tables = runtime.table_store(settings)
    rows = tables.query(
        f"SELECT object, f.info_type AS info_type, f.count AS count "
        f"FROM {{dataset}}.{TABLE_INGESTION_EVENTS}, UNNEST(pii_findings) AS f "
        "WHERE status = 'done'"
    )
    found: Counter[str] = Counter()
    seeded: Counter[str] = Counter()
    for row in rows:
        found[row["info_type"]] += int(row["count"])
        if row["object"] == demo.SEEDED_OBJECT:
            seeded[row["info_type"]] += int(row["count"])
    listed = ", ".join(f"{k}={v}" for k, v in sorted(found.items())) or "none"
    click.echo(f"\nPII redaction on: info types found across the corpus: {listed}")
    click.echo(
        f"in {demo.SEEDED_OBJECT}: "
        + ", ".join(f"{k}={v}" for k, v in sorted(seeded.items()))
    )

    values = demo.seeded_values()
    hits = runtime.build_retriever(settings).search(
        "refund case customer card number and e-mail on file", k=10
    )
    in_hits = demo.occurrences(values, [h.chunk.text for h in hits])
    dumped = []
    for table in TABLES:
        for row in tables.query(f"SELECT * FROM {{dataset}}.{table}"):
            dumped.append(json.dumps(row, default=str, ensure_ascii=False))
    in_tables = demo.occurrences(values, dumped)
    seeded_hits = sum(h.chunk.object == demo.SEEDED_OBJECT for h in hits)
    click.echo(
        f"seeded values ({len(values)}) found in search results: "
        f"{sum(in_hits.values())} (the seeded document is {seeded_hits} of "
        f"{len(hits)} hits); in every table ({len(dumped)} rows): "
        f"{sum(in_tables.values())}"
    )
