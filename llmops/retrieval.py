"""Retrieval: a question in, the nearest chunks with their source out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llmops.backends.base import Embedder, VectorIndex
from llmops.chunk_store import ChunkStore, StoredChunk, parse_datapoint_id
from llmops.errors import InputError


@dataclass(frozen=True)
class Hit:
    """A chunk that answers a query, and how close it is."""

    chunk: StoredChunk
    score: float


class Retriever:
    """Embeds the query, asks the index, reads the chunks' text."""

    def __init__(
        self, embedder: Embedder, index: VectorIndex, chunks: ChunkStore
    ) -> None:
        self._embedder = embedder
        self._index = index
        self._chunks = chunks

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        restricts: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Hit]:
        if not query.strip():
            raise InputError("the query is empty; ask a question in words")
        if not 1 <= k <= 100:
            raise InputError(f"k must be between 1 and 100, got {k}")
        vector = self._embedder.embed([query], task="query")[0]
        neighbors = self._index.query(vector, k=k, restricts=restricts)

        # One read per document generation, however many of its chunks match.
        files: dict[tuple[str, int], dict[int, StoredChunk]] = {}
        hits = []
        for neighbor in neighbors:
            try:
                doc_key, generation, index = parse_datapoint_id(neighbor.id)
            except ValueError:
                # Not a document chunk: the index's bootstrap datapoint.
                continue
            if (doc_key, generation) not in files:
                files[doc_key, generation] = {
                    c.index: c for c in self._chunks.read_chunks(doc_key, generation)
                }
            chunk = files[doc_key, generation].get(index)
            # A generation retired between the query and the read is skipped.
            if chunk is not None:
                hits.append(Hit(chunk, neighbor.score))
        return hits
