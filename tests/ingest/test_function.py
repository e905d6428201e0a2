"""The deployable function under functions-framework: the retry contract."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from functions_framework import create_app

from llmops.chunk_store import ChunkStore
from llmops.contract import TABLE_INGESTION_EVENTS
from llmops.errors import TransientError
from llmops.ingest import entrypoint
from llmops.ingest.pipeline import IngestionPipeline
from tests.ingest.fakes import (
    HashEmbedder,
    MemoryIndex,
    MemoryObjectStore,
    MemoryTables,
)

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "ingest" / "main.py"


class Fakes:
    def __init__(self) -> None:
        self.objects = MemoryObjectStore()
        self.tables = MemoryTables()
        self.embedder = HashEmbedder()
        self.index = MemoryIndex(64)
        self.pipeline = IngestionPipeline(
            docs_bucket="docs",
            objects=self.objects,
            chunks=ChunkStore(self.objects, "chunks"),
            embedder=self.embedder,
            index=self.index,
            tables=self.tables,
        )


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Loading the function module configures JSON logging; undo it after."""
    logger = logging.getLogger("llmops")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    """The function's pipeline replaced by one on recording fakes."""
    made = Fakes()
    monkeypatch.setattr(entrypoint, "_pipeline", made.pipeline)
    yield made


def deliver(target: str, event_type: str, name: str, generation: int, size: int) -> int:
    client = create_app(target, str(SOURCE), "cloudevent").test_client()
    headers = {
        "ce-specversion": "1.0",
        "ce-id": f"evt-{generation}",
        "ce-type": event_type,
        "ce-source": "//storage.googleapis.com/projects/_/buckets/docs",
        "ce-subject": f"objects/{name}",
        "content-type": "application/json",
    }
    data = {
        "bucket": "docs",
        "name": name,
        "generation": str(generation),
        "size": str(size),
    }
    return client.post("/", headers=headers, data=json.dumps(data)).status_code


FINALIZED = "google.cloud.storage.object.v1.finalized"
DELETED = "google.cloud.storage.object.v1.deleted"


def test_transient_embedder_error_answers_500_for_a_retry(fakes: Fakes) -> None:
    """A 429/503 from the embedder makes the function fail so Eventarc retries."""
    generation = fakes.objects.write("docs", "a.txt", b"some words to embed here")
    fakes.embedder.fail_with = TransientError("429 RESOURCE_EXHAUSTED")
    assert deliver("on_object_finalized", FINALIZED, "a.txt", generation, 24) == 500
    assert fakes.index.points == {}


def test_transient_index_error_answers_500_for_a_retry(fakes: Fakes) -> None:
    """A 503 from the vector index makes the function fail so Eventarc retries."""
    generation = fakes.objects.write("docs", "a.txt", b"some words to embed here")
    fakes.index.fail_with = TransientError("503 UNAVAILABLE")
    assert deliver("on_object_finalized", FINALIZED, "a.txt", generation, 24) == 500


def test_bad_document_is_acknowledged_with_a_failed_row(fakes: Fakes) -> None:
    """A document that cannot be read is acknowledged (200), its row says why."""
    data = b"\x00\x01binary\x00" * 100
    generation = fakes.objects.write("docs", "b.txt", data)
    assert (
        deliver("on_object_finalized", FINALIZED, "b.txt", generation, len(data)) == 200
    )
    row = fakes.tables.rows[TABLE_INGESTION_EVENTS][0]
    assert row["status"] == "failed" and "binary" in row["reason"]
    assert fakes.embedder.requests == []


def test_misrouted_event_type_is_acknowledged_untouched(fakes: Fakes) -> None:
    """A delete event sent to the finalize function is acknowledged and ignored."""
    generation = fakes.objects.write("docs", "c.txt", b"words")
    assert deliver("on_object_finalized", DELETED, "c.txt", generation, 5) == 200
    assert TABLE_INGESTION_EVENTS not in fakes.tables.rows


def test_request_that_is_not_a_cloudevent_is_refused(fakes: Fakes) -> None:
    """A plain POST without CloudEvent headers gets a 400, not a crash."""
    client = create_app("on_object_finalized", str(SOURCE), "cloudevent").test_client()
    response = client.post("/", data='{"hello": 1}', content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"bucket": "docs", "name": "a.txt", "generation": "1", "size": "abc"},
        {"bucket": "docs", "name": "a.txt", "generation": "1", "metadata": "x"},
        {"bucket": "docs", "name": "", "generation": "1", "size": "3"},
        {"bucket": "docs", "name": "a.txt", "generation": "-4", "size": "3"},
        {"bucket": "docs", "name": "a.txt"},
    ],
)
def test_malformed_event_data_is_acknowledged(fakes: Fakes, data: dict) -> None:
    """Event data no retry can mend is acknowledged (200) and changes nothing."""
    client = create_app("on_object_finalized", str(SOURCE), "cloudevent").test_client()
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "bad-1",
        "ce-type": FINALIZED,
        "ce-source": "//storage.googleapis.com/projects/_/buckets/docs",
        "content-type": "application/json",
    }
    response = client.post("/", headers=headers, data=json.dumps(data))
    assert response.status_code == 200
    assert TABLE_INGESTION_EVENTS not in fakes.tables.rows
