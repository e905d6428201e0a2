"""Ingestion end to end: uploads to the storage emulator, events through the
relay, the real function under functions-framework, Milvus Lite, BigQuery."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from llmops import runtime
from llmops.backends.milvus import MilvusVectorIndex
from llmops.chunk_store import ChunkStore, document_key
from llmops.contract import ENV_STORAGE_EMULATOR_HOST as STORAGE
from llmops.contract import EVENT_FINALIZED, TABLE_INGESTION_EVENTS
from llmops.errors import ConfigError
from llmops.ingest.events import ObjectEvent
from llmops.local.relay import storage_event
from llmops.targets import local_target
from tests.ingest import documents

TOPIC = (
    "The lighthouse keeper logs the weather every morning. Fog horns sound when "
    "visibility drops below one nautical mile. "
)


@dataclass
class Platform:
    """The local platform's stores, as the tests reach them."""

    info: dict[str, Any]
    relay_log: Path
    settings: Any
    objects: Any
    tables: Any
    index: MilvusVectorIndex
    chunks: ChunkStore

    def upload(self, name: str, data: bytes, content_type: str = "text/plain") -> int:
        return self.objects.write(
            self.settings.docs_bucket, name, data, content_type=content_type
        )

    def outcome(
        self, name: str, generation: int, event_type: str = "finalized"
    ) -> dict:
        """Wait for the final ingestion row of one generation and return it."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = self.rows(name, generation, event_type)
            final = [
                r
                for r in rows
                if r["status"] in ("done", "failed", "skipped", "deleted")
            ]
            if final:
                return final[0]
            time.sleep(0.25)
        raise AssertionError(f"no {event_type} row for {name}#{generation}")

    def rows(
        self, name: str, generation: int, event_type: str = "finalized"
    ) -> list[dict]:
        return self.tables.query(
            f"SELECT status, reason, chunk_count, object, content_type FROM "
            f"{{dataset}}.{TABLE_INGESTION_EVENTS} WHERE object = @name AND "
            "generation = @generation AND event_type = @type",
            {"name": name, "generation": generation, "type": event_type},
        )

    def ids(self, name: str) -> list[str]:
        return self.index.ids_with_prefix(document_key(self.settings.docs_bucket, name))

    def deliveries(self, name: str) -> list[dict]:
        lines = (
            self.relay_log.read_text().splitlines() if self.relay_log.exists() else []
        )
        return [d for d in map(json.loads, lines) if d["object"] == name]


@pytest.fixture(scope="module")
def platform(local_platform) -> Iterator[Platform]:
    """Stores pointed at the running local platform (environment restored after)."""
    target = local_target(Path(local_platform.state.root))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STORAGE, target.env[STORAGE])
        settings = target.settings()
        objects = runtime.object_store(settings)
        index = runtime.vector_index(
            settings, create_dimensions=settings.embedding_dimensions
        )
        yield Platform(
            info=local_platform.info,
            relay_log=local_platform.relay_log,
            settings=settings,
            objects=objects,
            tables=runtime.table_store(settings),
            index=index,
            chunks=ChunkStore(objects, settings.chunks_bucket),
        )


@pytest.fixture
def prefix() -> str:
    """A folder of its own for each test, so tests never see each other's objects."""
    return f"e2e-{uuid.uuid4().hex[:8]}"


def post_event(
    platform: Platform, event_id: str, name: str, generation: int, size: int
) -> int:
    """Deliver a finalize CloudEvent to the function ourselves, as a redelivery."""
    data = {
        "bucket": platform.settings.docs_bucket,
        "name": name,
        "generation": str(generation),
        "size": str(size),
        "contentType": "text/plain",
    }
    event = storage_event(
        {"eventType": "OBJECT_FINALIZE"}, json.dumps(data).encode(), event_id=event_id
    )
    assert event is not None
    url = urlsplit(platform.info["endpoints"]["functions"][EVENT_FINALIZED])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.request("POST", "/", body=event.body(), headers=event.headers())
    status = connection.getresponse().status
    connection.close()
    return status


def test_uploaded_document_becomes_searchable(platform: Platform, prefix: str) -> None:
    """An upload is ingested by the function and its text comes back from search."""
    name = f"{prefix}/lighthouse.txt"
    generation = platform.upload(name, (TOPIC * 3).encode())
    row = platform.outcome(name, generation)
    assert row["status"] == "done" and row["chunk_count"] >= 1
    hits = runtime.build_retriever(platform.settings).search(
        "when do fog horns sound at the lighthouse?", k=3
    )
    assert hits[0].chunk.object == name and "Fog horns" in hits[0].chunk.text


def test_same_event_twice_adds_nothing(platform: Platform, prefix: str) -> None:
    """Redelivering an event adds no datapoints and no second done row."""
    name = f"{prefix}/twice.txt"
    data = (TOPIC * 20).encode()
    generation = platform.upload(name, data)
    assert platform.outcome(name, generation)["status"] == "done"
    ids = platform.ids(name)
    event_id = platform.deliveries(name)[0]["event_id"]

    assert post_event(platform, event_id, name, generation, len(data)) == 200
    assert platform.ids(name) == ids
    assert [r["status"] for r in platform.rows(name, generation)] == ["done"]


def test_overwrite_with_fewer_chunks_leaves_no_old_chunk(
    platform: Platform, prefix: str
) -> None:
    """After an overwrite only the new generation's chunks are in the index."""
    name = f"{prefix}/manual.md"
    first = platform.upload(name, ("# Old\n\n" + TOPIC * 60).encode(), "text/markdown")
    assert platform.outcome(name, first)["chunk_count"] > 3
    second = platform.upload(
        name, b"# New\n\nThe ferry timetable changed in May.\n", "text/markdown"
    )
    row = platform.outcome(name, second)
    assert row["status"] == "done" and row["chunk_count"] == 1

    key = document_key(platform.settings.docs_bucket, name)
    deadline = time.monotonic() + 30
    while platform.ids(name) != [f"{key}-{second}-0"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert platform.ids(name) == [f"{key}-{second}-0"]
    hits = runtime.build_retriever(platform.settings).search(
        "fog horns visibility", k=20
    )
    assert all(h.chunk.generation != first for h in hits if h.chunk.object == name)


def test_delete_leaves_none_of_the_object(platform: Platform, prefix: str) -> None:
    """Deleting an object removes its datapoints and its chunk text."""
    name = f"{prefix}/gone.txt"
    generation = platform.upload(name, (TOPIC * 10).encode())
    assert platform.outcome(name, generation)["status"] == "done"
    platform.objects.delete(platform.settings.docs_bucket, name)
    row = platform.outcome(name, generation, "deleted")
    assert row["status"] == "deleted"
    assert platform.ids(name) == []
    manifest, _ = platform.chunks.manifest(platform.settings.docs_bucket, name)
    assert manifest is not None and manifest.deleted and manifest.chunk_count == 0


@pytest.mark.parametrize(
    ("leaf", "data", "status", "reason"),
    [
        ("empty.txt", b"", "skipped", "empty object"),
        ("folder/", b"", "skipped", "folder placeholder"),
        ("binary.txt", bytes(range(256)) * 40, "failed", "binary"),
        (
            "menu-cp1252.txt",
            "Crème brûlée, café au lait: 5€ each.".encode("cp1252"),
            "done",
            "decoded as cp1252",
        ),
        (
            "notes-utf16.txt",
            "Notes from the meeting about the harbour.".encode("utf-16"),
            "done",
            "decoded as utf-16",
        ),
        ("scan.pdf", documents.pdf_without_text(2), "failed", "no text layer"),
    ],
)
def test_unusable_or_unusual_objects_say_why(
    platform: Platform, prefix: str, leaf: str, data: bytes, status: str, reason: str
) -> None:
    """Each odd object gets one delivery, a row saying why, and no retry storm."""
    name = f"{prefix}/{leaf}"
    generation = platform.upload(name, data)
    row = platform.outcome(name, generation)
    assert row["status"] == status and reason in (row["reason"] or "")
    if status != "done":
        assert row["chunk_count"] is None and platform.ids(name) == []
    attempts = [d for d in platform.deliveries(name) if d["type"] == EVENT_FINALIZED]
    assert [d["outcome"] for d in attempts] == ["acked"]


def test_object_names_reach_backends_exactly(platform: Platform, prefix: str) -> None:
    """Spaces, accents, '+' and '#' in a name reach the row, the text and search."""
    name = f"{prefix}/Dossier été/Résumé + notes #1 (final).txt"
    generation = platform.upload(name, b"Quarterly harbour dredging budget approved.")
    row = platform.outcome(name, generation)
    assert row["object"] == name and row["status"] == "done"
    manifest, _ = platform.chunks.manifest(platform.settings.docs_bucket, name)
    assert manifest is not None and manifest.object == name
    hits = runtime.build_retriever(platform.settings).search(
        "harbour dredging budget", k=5
    )
    assert name in [h.chunk.object for h in hits]


def test_function_writes_trigger_nothing(platform: Platform, prefix: str) -> None:
    """Ingestion writes chunk text elsewhere, and only uploads reach the function."""
    name = f"{prefix}/once.txt"
    generation = platform.upload(name, (TOPIC * 5).encode())
    assert platform.outcome(name, generation)["status"] == "done"
    key = document_key(platform.settings.docs_bucket, name)
    written = platform.objects.list(platform.settings.chunks_bucket, f"chunks/{key}/")
    assert written == [f"chunks/{key}/{generation}.jsonl"]
    time.sleep(1.0)
    lines = platform.relay_log.read_text().splitlines()
    buckets = {json.loads(line)["bucket"] for line in lines}
    assert buckets == {platform.settings.docs_bucket}
    assert len([d for d in platform.deliveries(name) if d["outcome"] == "acked"]) == 1


def test_dimension_mismatch_stops_before_any_upsert(
    platform: Platform, prefix: str
) -> None:
    """An index of another dimension stops ingestion with a configuration error."""
    collection = f"mismatch_{uuid.uuid4().hex[:8]}"
    settings = replace(platform.settings, milvus_collection=collection)
    MilvusVectorIndex(settings.milvus_uri, collection).ensure_collection(8)
    pipeline = runtime.build_pipeline(settings)
    name = f"{prefix}/dims.txt"
    generation = platform.upload(name, (TOPIC * 5).encode())
    event = ObjectEvent(
        "dims-1", EVENT_FINALIZED, settings.docs_bucket, name, generation, 1
    )
    with pytest.raises(ConfigError, match="384 dimensions but the vector index has 8"):
        pipeline.handle(event)
    assert MilvusVectorIndex(settings.milvus_uri, collection).count() == 0


def test_delete_command_removes_documents_and_says_so(
    platform: Platform, prefix: str, local_platform
) -> None:
    """`llmops delete` removes a document's datapoints and reports unknown names."""
    from click.testing import CliRunner

    from llmops.cli import cli

    name = f"{prefix}/to delete.txt"
    generation = platform.upload(name, (TOPIC * 8).encode())
    assert platform.outcome(name, generation)["status"] == "done"
    state = str(local_platform.state.root)
    result = CliRunner().invoke(cli, ["delete", name, "--state-dir", state])
    assert result.exit_code == 0, result.output
    assert f"deleted {name} datapoints=" in result.output
    assert platform.ids(name) == []
    missing = CliRunner().invoke(
        cli, ["delete", f"{prefix}/nope", "--state-dir", state]
    )
    assert missing.exit_code == 1 and "not found" in missing.output


@pytest.mark.parametrize("leaf", ["Заметки şube 東京.txt", "two\nlines.txt"])
def test_names_a_header_cannot_carry_still_reach_the_function(
    platform: Platform, prefix: str, leaf: str
) -> None:
    """Non-Latin names and control characters are relayed and ingested as named."""
    name = f"{prefix}/{leaf}"
    generation = platform.upload(name, b"The harbour office opens at nine.")
    row = platform.outcome(name, generation)
    assert row["status"] == "done" and row["object"] == name


def test_an_unreadable_overwrite_leaves_the_good_version_searchable(
    platform: Platform, prefix: str
) -> None:
    """Over the emulator's real overwrite events, a bad upload loses nothing."""
    name = f"{prefix}/keeper.txt"
    good = platform.upload(name, (TOPIC * 3).encode())
    assert platform.outcome(name, good)["status"] == "done"
    ids = platform.ids(name)

    bad = platform.upload(name, b"\x00\x01\x02binary" * 300)
    row = platform.outcome(name, bad)
    assert row["status"] == "failed" and "stays searchable" in row["reason"]
    replaced = platform.outcome(name, good, "deleted")
    assert (
        replaced["status"] == "skipped"
        and "replaced by generation" in (replaced["reason"])
    )
    assert platform.ids(name) == ids
    hits = runtime.build_retriever(platform.settings).search(
        "when do fog horns sound at the lighthouse?", k=5
    )
    assert any(h.chunk.object == name for h in hits)
