"""Ingestion throughput next to the embedder's own, on the same chunks.

Run: .venv/bin/python benchmarks/ingest_throughput.py [--topics N]

1. Chunks Python's reference topics with the production chunker.
2. Embeds those chunks directly with the local embedder, in the same request
   batches the pipeline uses: the ceiling for ingestion on this machine
   (timed before and after step 3).
3. Starts a local platform, uploads the same topics to the docs bucket and
   times the path end to end (events, relay, function, extraction,
   chunking, embedding, Milvus upserts, chunk text, BigQuery rows).

Prints both rates and their ratio; machines are noisy, so compare the ratio,
not the absolute figures, across runs.
"""

from __future__ import annotations

import argparse
import pydoc_data.topics
import tempfile
import time
from pathlib import Path

from llmops.backends.local_embeddings import LocalEmbedder
from llmops.ingest.chunking import Chunker, ChunkingConfig
from llmops.ingest.extract import extract
from llmops.ingest.pipeline import request_batches


def embedder_rate(topics: dict[str, str]) -> tuple[int, float]:
    embedder = LocalEmbedder()
    chunker = Chunker(embedder.tokenizer, ChunkingConfig.for_model(256))
    chunks = []
    for name, text in topics.items():
        chunks += chunker.chunk(extract(f"{name}.txt", text.encode()).sections)
    embedder.warm_up()
    embedder.embed(["warm up"], task="document")
    start = time.perf_counter()
    for first, last in request_batches([c.tokens for c in chunks], embedder.model):
        embedder.embed([c.text for c in chunks[first:last]], task="document")
    return len(chunks), time.perf_counter() - start


def ingestion_rate(topics: dict[str, str]) -> tuple[int, float, float]:
    from llmops import runtime
    from llmops.ingest import client
    from llmops.local import LocalPlatform
    from llmops.targets import local_target

    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        files = []
        for name, text in topics.items():
            path = corpus / f"{name}.txt"
            path.write_text(text)
            files.append((path, f"topics/{name}.txt"))
        platform = LocalPlatform(root / "state")
        t0 = time.perf_counter()
        platform.start()
        up = time.perf_counter() - t0
        try:
            target = local_target(root / "state")
            target.activate()
            settings = target.settings()
            objects = runtime.object_store(settings)
            tables = runtime.table_store(settings)
            # One document first, so the function's model load is not timed.
            warm = client.upload(objects, settings.docs_bucket, files[:1])
            client.wait(tables, warm, timeout=300)
            start = time.perf_counter()
            uploads = client.upload(objects, settings.docs_bucket, files[1:])
            results = client.wait(tables, uploads, timeout=900, poll=0.2)
            elapsed = time.perf_counter() - start
        finally:
            platform.stop()
    return sum(r.chunks for r in results), elapsed, up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=0, help="Limit topics (0: all).")
    args = parser.parse_args()
    topics = dict(sorted(pydoc_data.topics.topics.items()))
    if args.topics:
        topics = dict(list(topics.items())[: args.topics])

    # The embedder is timed before and after ingestion, so that load that
    # changes during the run shows as a spread instead of skewing the ratio.
    chunks, before = embedder_rate(topics)
    ingested, seconds, up = ingestion_rate(topics)
    _, after = embedder_rate(topics)
    embed_rate = 2 * chunks / (before + after)
    ingest_rate = ingested / seconds
    print(
        f"embedder alone: {chunks} chunks in {before:.1f} s before and "
        f"{after:.1f} s after = {embed_rate:.1f} chunks/s"
    )
    print(f"local platform up in {up:.1f} s")
    print(
        f"ingestion end to end: {ingested} chunks in {seconds:.1f} s = "
        f"{ingest_rate:.1f} chunks/s"
    )
    print(f"ratio ingestion/embedder = {ingest_rate / embed_rate:.2f}")


if __name__ == "__main__":
    main()
