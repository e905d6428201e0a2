"""The pipeline's event semantics, on recording in-memory backends."""

from __future__ import annotations

import pytest

from llmops.chunk_store import ChunkStore, document_key
from llmops.contract import EVENT_DELETED, EVENT_FINALIZED, TABLE_INGESTION_EVENTS
from llmops.errors import ConfigError, TransientError
from llmops.ingest.chunking import ChunkingConfig
from llmops.ingest.events import ObjectEvent
from llmops.ingest.pipeline import IngestionPipeline, request_batches
from llmops.retrieval import Retriever
from tests.ingest.fakes import (
    HashEmbedder,
    MemoryIndex,
    MemoryObjectStore,
    MemoryTables,
)

DOCS, CHUNKS = "docs", "chunks"


@pytest.fixture
def world():
    class World:
        objects = MemoryObjectStore()
        tables = MemoryTables()
        embedder = HashEmbedder()
        index = MemoryIndex(64)
        chunks = ChunkStore(objects, CHUNKS)
        pipeline = IngestionPipeline(
            docs_bucket=DOCS,
            objects=objects,
            chunks=chunks,
            embedder=embedder,
            index=index,
            tables=tables,
            chunking=ChunkingConfig(max_tokens=40, overlap=5),
        )

        def upload(self, name: str, text: str | bytes) -> ObjectEvent:
            data = text.encode() if isinstance(text, str) else text
            generation = self.objects.write(DOCS, name, data, content_type="text/plain")
            return ObjectEvent(
                f"e-{generation}", EVENT_FINALIZED, DOCS, name, generation, len(data)
            )

        def rows(self) -> list[dict]:
            return self.tables.rows.get(TABLE_INGESTION_EVENTS, [])

        def ids(self, name: str) -> list[str]:
            key = document_key(DOCS, name)
            return sorted(i for i in self.index.points if i.startswith(key))

    return World()


def long_text(word: str, sentences: int) -> str:
    return " ".join(f"{word} sentence {i} is here." for i in range(sentences))


def test_duplicate_delivery_adds_nothing(world) -> None:
    """Handling the same event twice upserts once and writes one done row."""
    event = world.upload("a.txt", long_text("alpha", 30))
    world.pipeline.handle(event)
    before = (list(world.index.points), list(world.embedder.requests))
    second = world.pipeline.handle(event)
    assert second.status == "skipped" and not second.recorded
    assert (list(world.index.points), list(world.embedder.requests)) == before
    assert [r["status"] for r in world.rows()] == ["done"]


def test_overwrite_with_fewer_chunks_retires_the_old_generation(world) -> None:
    """After an overwrite only the new generation's datapoints remain."""
    first = world.upload("a.txt", long_text("alpha", 60))
    world.pipeline.handle(first)
    old = world.ids("a.txt")
    second = world.upload("a.txt", "just one short line about beta")
    outcome = world.pipeline.handle(second)
    assert outcome.status == "done" and outcome.removed_datapoints == len(old) > 1
    assert world.ids("a.txt") == [
        f"{document_key(DOCS, 'a.txt')}-{second.generation}-0"
    ]
    retriever = Retriever(world.embedder, world.index, world.chunks)
    assert {h.chunk.generation for h in retriever.search("alpha sentence", k=10)} == {
        second.generation
    }


def test_stale_finalize_after_newer_generation_is_dropped(world) -> None:
    """An older generation's event arriving late leaves the newer one indexed."""
    first = world.upload("a.txt", long_text("alpha", 20))
    second = world.upload("a.txt", long_text("beta", 20))
    world.pipeline.handle(second)
    late = world.pipeline.handle(first)
    assert late.status == "skipped" and "superseded" in (late.reason or "")
    assert all(f"-{second.generation}-" in i for i in world.ids("a.txt"))


def test_delete_of_replaced_generation_keeps_the_new_one(world) -> None:
    """The delete event an overwrite sends for the old generation removes nothing."""
    first = world.upload("a.txt", long_text("alpha", 20))
    world.pipeline.handle(first)
    second = world.upload("a.txt", long_text("beta", 20))
    world.pipeline.handle(second)
    gone = ObjectEvent("d1", EVENT_DELETED, DOCS, "a.txt", first.generation, 0)
    assert world.pipeline.handle(gone).status == "skipped"
    assert world.ids("a.txt")


@pytest.mark.parametrize("delete_first", [True, False])
def test_an_unreadable_overwrite_keeps_the_previous_version_searchable(
    world, delete_first: bool
) -> None:
    """A bad upload over a good document fails, and the good text stays indexed.

    Cloud Storage sends a delete for the replaced generation; in whichever
    order the two events arrive, the old chunks are kept.
    """
    first = world.upload("a.txt", long_text("alpha", 20))
    world.pipeline.handle(first)
    kept = world.ids("a.txt")
    broken = world.upload("a.txt", b"\x00\x01binary" * 200)
    replaced = ObjectEvent("d5", EVENT_DELETED, DOCS, "a.txt", first.generation, 0)
    events = [replaced, broken] if delete_first else [broken, replaced]
    outcomes = [world.pipeline.handle(event) for event in events]

    by_kind = {o.event.kind: o for o in outcomes}
    assert by_kind["deleted"].status == "skipped"
    failed = by_kind["finalized"]
    assert failed.status == "failed"
    assert f"previous version (generation {first.generation}) stays" in failed.reason
    assert world.ids("a.txt") == kept

    # A readable upload then replaces it as usual.
    fixed = world.upload("a.txt", long_text("gamma", 20))
    world.pipeline.handle(fixed)
    assert world.ids("a.txt") and all(
        f"-{fixed.generation}-" in i for i in world.ids("a.txt")
    )


def test_an_empty_overwrite_is_skipped_and_says_the_old_text_stays(world) -> None:
    """An empty upload over a document keeps its text searchable, and says so."""
    first = world.upload("a.txt", long_text("alpha", 20))
    world.pipeline.handle(first)
    kept = world.ids("a.txt")
    outcome = world.pipeline.handle(world.upload("a.txt", b""))
    assert outcome.status == "skipped"
    assert f"previous version (generation {first.generation}) stays" in outcome.reason
    assert world.ids("a.txt") == kept


def test_delete_removes_every_datapoint_and_the_text(world) -> None:
    """Deleting the indexed generation leaves no datapoint, chunk file or manifest."""
    event = world.upload("a.txt", long_text("alpha", 40))
    world.pipeline.handle(event)
    world.objects.delete(DOCS, "a.txt")
    outcome = world.pipeline.handle(
        ObjectEvent("d2", EVENT_DELETED, DOCS, "a.txt", event.generation, 0)
    )
    assert outcome.status == "deleted" and outcome.removed_datapoints > 0
    assert world.ids("a.txt") == []
    assert [n for n in world.objects.list(CHUNKS) if n.startswith("chunks/")] == []
    manifest, _ = world.chunks.manifest(DOCS, "a.txt")
    assert manifest is not None and manifest.deleted


@pytest.mark.parametrize(
    ("name", "data", "status", "reason"),
    [
        ("empty.txt", b"", "skipped", "empty object"),
        ("folder/", b"", "skipped", "folder placeholder"),
        ("x.txt", b"\x00\x01\x02binary" * 100, "failed", "binary"),
    ],
)
def test_unusable_objects_get_a_reason_and_no_embedding(
    world, name: str, data: bytes, status: str, reason: str
) -> None:
    """Empty objects, folder placeholders and binary text are recorded, not embedded."""
    outcome = world.pipeline.handle(world.upload(name, data))
    assert outcome.status == status and reason in (outcome.reason or "")
    assert world.embedder.requests == [] and world.index.points == {}
    assert world.rows()[-1]["reason"] == outcome.reason


def test_transient_embedder_error_propagates_and_records_nothing(world) -> None:
    """A 429/503 from the embedder raises so the platform retries; no row yet."""
    world.embedder.fail_with = TransientError("429 quota")
    with pytest.raises(TransientError):
        world.pipeline.handle(world.upload("a.txt", long_text("alpha", 5)))
    assert world.rows() == [] and world.index.points == {}


def test_dimension_mismatch_stops_before_any_upsert(world) -> None:
    """An index of another dimension fails with a configuration error first."""
    world.pipeline._index = MemoryIndex(128)
    with pytest.raises(ConfigError, match="64 dimensions but the vector index has 128"):
        world.pipeline.handle(world.upload("a.txt", long_text("alpha", 5)))
    assert world.pipeline._index.calls == []


def test_missing_events_table_stops_before_anything_is_embedded(world) -> None:
    """A wrong dataset fails as configuration, naming the setting, indexing nothing.

    Once the table is there, the redelivered event goes through.
    """
    world.tables.missing.add(TABLE_INGESTION_EVENTS)
    event = world.upload("a.txt", long_text("alpha", 5))
    with pytest.raises(ConfigError, match="LLMOPS_BIGQUERY_DATASET") as caught:
        world.pipeline.handle(event)
    assert "table ingestion_events not found" in str(caught.value)
    assert world.index.points == {} and world.embedder.requests == []
    assert world.objects.list(CHUNKS) == []

    world.tables.missing.clear()
    assert world.pipeline.handle(event).status == "done"
    assert [row["status"] for row in world.rows()] == ["done"]
    assert world.ids("a.txt")


def test_requests_respect_batch_and_token_limits() -> None:
    """Request batches never exceed the model's input or token limits."""
    model = HashEmbedder(max_batch=4).model
    counts = [1000, 3000, 200, 200, 200, 200, 200, 4096, 1]
    batches = list(request_batches(counts, model))
    assert [i for a, b in batches for i in range(a, b)] == list(range(len(counts)))
    for start, end in batches:
        assert end - start <= 4
        assert (
            end - start == 1 or sum(counts[start:end]) <= model.max_tokens_per_request
        )


def test_writes_never_touch_the_docs_bucket(world) -> None:
    """Everything the pipeline writes goes to the chunks bucket."""
    world.objects.writes.clear()
    world.pipeline.handle(world.upload("a.txt", long_text("alpha", 30)))
    assert [b for b, _ in world.objects.writes if b == DOCS] == [DOCS]  # the upload
    assert {b for b, _ in world.objects.writes[1:]} == {CHUNKS}


def test_same_bucket_for_docs_and_chunks_is_refused() -> None:
    """A chunks bucket equal to the docs bucket is a configuration error."""
    objects = MemoryObjectStore()
    with pytest.raises(ConfigError, match="LLMOPS_CHUNKS_BUCKET"):
        IngestionPipeline(
            docs_bucket=DOCS,
            objects=objects,
            chunks=ChunkStore(objects, DOCS),
            embedder=HashEmbedder(),
            index=MemoryIndex(64),
            tables=MemoryTables(),
        )


def test_done_row_lost_with_the_delivery_is_written_on_redelivery(world) -> None:
    """A row lost after indexing is written by the retry, without re-indexing."""
    event = world.upload("a.txt", long_text("alpha", 30))
    failing = world.tables.insert

    def broken(table, rows):
        raise TransientError("503 from BigQuery")

    world.tables.insert = broken
    with pytest.raises(TransientError):
        world.pipeline.handle(event)
    world.tables.insert = failing
    requests = list(world.embedder.requests)
    outcome = world.pipeline.handle(event)
    assert outcome.status == "done" and world.embedder.requests == requests
    assert [r["status"] for r in world.rows()] == ["done"]
    assert world.pipeline.handle(event).recorded is False
    assert [r["status"] for r in world.rows()] == ["done"]


def test_search_skips_datapoints_that_are_not_chunks(world) -> None:
    """The index's bootstrap datapoint never comes back as a hit."""
    from llmops.backends.base import Datapoint

    world.pipeline.handle(world.upload("a.txt", long_text("alpha", 5)))
    world.index.upsert([Datapoint("llmops-bootstrap", [1.0] + [0.0] * 63, {})])
    hits = Retriever(world.embedder, world.index, world.chunks).search("alpha", k=10)
    assert hits and all(h.chunk.object == "a.txt" for h in hits)


def test_delete_during_ingestion_leaves_nothing_searchable(world) -> None:
    """A delete handled while the finalize is embedding wins: nothing stays indexed."""
    event = world.upload("a.txt", long_text("alpha", 30))
    delete = ObjectEvent("d3", EVENT_DELETED, DOCS, "a.txt", event.generation, 0)
    embed = world.embedder.embed

    def embed_then_delete(texts, *, task):
        vectors = embed(texts, task=task)
        if world.embedder.fail_with is None:
            world.embedder.fail_with = False  # only once
            world.objects.delete(DOCS, "a.txt")
            assert world.pipeline.handle(delete).status == "skipped"
        return vectors

    world.embedder.embed = embed_then_delete
    outcome = world.pipeline.handle(event)
    assert outcome.status == "skipped" and "deleted" in outcome.reason
    assert world.ids("a.txt") == []
    assert [n for n in world.objects.list(CHUNKS) if n.startswith("chunks/")] == []


def test_upload_after_delete_is_ingested_again(world) -> None:
    """A new generation uploaded after a delete replaces the tombstone."""
    first = world.upload("a.txt", long_text("alpha", 10))
    world.pipeline.handle(first)
    world.objects.delete(DOCS, "a.txt")
    world.pipeline.handle(
        ObjectEvent("d4", EVENT_DELETED, DOCS, "a.txt", first.generation, 0)
    )
    second = world.upload("a.txt", long_text("beta", 10))
    assert world.pipeline.handle(second).status == "done"
    assert world.ids("a.txt") and all(
        f"-{second.generation}-" in i for i in world.ids("a.txt")
    )


def test_oversized_object_fails_before_it_is_downloaded(world) -> None:
    """An object over the size limit fails from its event, without a download."""
    world.pipeline._max_bytes = 100
    event = world.upload("big.txt", long_text("alpha", 50))

    read = world.objects.read

    def no_read(bucket, *args, **kwargs):
        if bucket == DOCS:
            raise AssertionError("the object was read")
        return read(bucket, *args, **kwargs)

    world.objects.read = no_read
    outcome = world.pipeline.handle(event)
    assert outcome.status == "failed" and "LLMOPS_MAX_DOCUMENT_BYTES" in outcome.reason


def test_invalid_use_case_metadata_fails_naming_the_key(world) -> None:
    """A use case that is not a valid name fails, naming the metadata key."""
    generation = world.objects.write(
        DOCS, "a.txt", b"some text", metadata={"llmops-use-case": "u" * 1500}
    )
    event = ObjectEvent(
        "e1",
        EVENT_FINALIZED,
        DOCS,
        "a.txt",
        generation,
        9,
        "text/plain",
        {"llmops-use-case": "u" * 1500},
    )
    outcome = world.pipeline.handle(event)
    assert outcome.status == "failed" and "llmops-use-case" in outcome.reason
    assert world.index.points == {} and world.objects.list(CHUNKS) == []


def test_restrict_filter_keeps_non_ascii_values() -> None:
    """Milvus filters carry non-ASCII restrict values as they are."""
    from llmops.backends.milvus import restrict_filter

    assert restrict_filter({"source_prefix": ["équipe/"]}) == (
        'source_prefix in ["équipe/"]'
    )
