"""Chunk text and document manifests, kept in the chunks bucket.

Vector Search stores only ids and restricts, so the text that retrieval
returns lives here, one JSON Lines file per document generation:
``chunks/<doc_key>/<generation>.jsonl``. A manifest per document,
``manifests/<doc_key>.json``, names the generation that is indexed and how
many datapoints it has; it is written with a generation precondition, so two
deliveries racing on one document cannot both win.

The chunks bucket is never the docs bucket: nothing written here can
trigger ingestion again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from llmops.backends.base import ObjectStore
from llmops.errors import ConflictError, NotFoundError

_MANIFESTS = "manifests/"
_CHUNKS = "chunks/"


def document_key(bucket: str, name: str) -> str:
    """A short, stable key for an object, whatever characters its name holds."""
    return hashlib.sha256(f"{bucket}/{name}".encode()).hexdigest()[:24]


def datapoint_id(doc_key: str, generation: int, index: int) -> str:
    """The datapoint id of chunk ``index`` of one generation of a document."""
    return f"{doc_key}-{generation}-{index}"


def parse_datapoint_id(datapoint: str) -> tuple[str, int, int]:
    """(doc_key, generation, chunk index) from a datapoint id."""
    doc_key, generation, index = datapoint.rsplit("-", 2)
    return doc_key, int(generation), int(index)


@dataclass(frozen=True)
class Manifest:
    """Which generation of a document is indexed, and its datapoints."""

    bucket: str
    object: str
    generation: int
    chunk_count: int
    content_type: str
    use_case: str
    embedding_model: str
    # Whether the generation's done row reached the ingestion-events table.
    recorded: bool = False
    # A tombstone: the object was deleted at ``generation``. It stops a
    # finalize still under way for that generation from committing.
    deleted: bool = False

    @property
    def doc_key(self) -> str:
        return document_key(self.bucket, self.object)

    def datapoint_ids(self) -> list[str]:
        return [
            datapoint_id(self.doc_key, self.generation, i)
            for i in range(self.chunk_count)
        ]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as retrieval returns it, with its source."""

    id: str
    bucket: str
    object: str
    generation: int
    index: int
    heading: str
    text: str
    content_type: str
    use_case: str
    guardrails: tuple[str, ...] = ()


class ChunkStore:
    """Reads and writes manifests and chunk files through an ObjectStore."""

    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self.bucket = bucket

    def manifest(self, bucket: str, name: str) -> tuple[Manifest | None, int]:
        """The document's manifest and its object generation (0 when absent)."""
        path = f"{_MANIFESTS}{document_key(bucket, name)}.json"
        try:
            stored = self._store.read(self.bucket, path)
        except NotFoundError:
            return None, 0
        return Manifest(**json.loads(stored.data)), stored.generation

    def manifests(self) -> list[Manifest]:
        """Every document's manifest, tombstones included."""
        found = []
        for path in self._store.list(self.bucket, _MANIFESTS):
            try:
                stored = self._store.read(self.bucket, path)
            except NotFoundError:
                continue  # deleted since it was listed
            found.append(Manifest(**json.loads(stored.data)))
        return found

    def write_manifest(self, manifest: Manifest, *, if_generation_match: int) -> int:
        """Write the manifest only if it is still at ``if_generation_match``."""
        return self._store.write(
            self.bucket,
            f"{_MANIFESTS}{manifest.doc_key}.json",
            json.dumps(asdict(manifest), sort_keys=True).encode(),
            content_type="application/json",
            if_generation_match=if_generation_match,
        )

    def delete_manifest(self, manifest: Manifest, *, if_generation_match: int) -> None:
        try:
            self._store.delete(
                self.bucket,
                f"{_MANIFESTS}{manifest.doc_key}.json",
                if_generation_match=if_generation_match,
            )
        except NotFoundError:
            pass

    def write_chunks(self, chunks: list[StoredChunk]) -> None:
        """Write one generation's chunks (all of one document) as JSON Lines."""
        if not chunks:
            return
        first = chunks[0]
        lines = [json.dumps(_chunk_record(c), ensure_ascii=False) for c in chunks]
        self._store.write(
            self.bucket,
            self._chunks_path(
                document_key(first.bucket, first.object), first.generation
            ),
            ("\n".join(lines) + "\n").encode(),
            content_type="application/x-ndjson",
        )

    def delete_chunks(self, doc_key: str, generation: int) -> None:
        self._store.delete(self.bucket, self._chunks_path(doc_key, generation))

    def read_chunks(self, doc_key: str, generation: int) -> list[StoredChunk]:
        """One generation's chunks; empty when that generation is gone."""
        try:
            stored = self._store.read(
                self.bucket, self._chunks_path(doc_key, generation)
            )
        except NotFoundError:
            return []
        chunks = []
        for line in stored.data.decode().splitlines():
            if line.strip():
                record = json.loads(line)
                record["guardrails"] = tuple(record.get("guardrails", ()))
                chunks.append(StoredChunk(**record))
        return chunks

    @staticmethod
    def _chunks_path(doc_key: str, generation: int) -> str:
        return f"{_CHUNKS}{doc_key}/{generation}.jsonl"


def _chunk_record(chunk: StoredChunk) -> dict[str, Any]:
    record = asdict(chunk)
    record["guardrails"] = list(chunk.guardrails)
    return record


__all__ = [
    "ChunkStore",
    "ConflictError",
    "Manifest",
    "StoredChunk",
    "datapoint_id",
    "document_key",
    "parse_datapoint_id",
]
