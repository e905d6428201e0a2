"""Recording in-memory backends with the semantics the pipeline relies on.

They keep Cloud Storage's generations and preconditions and Vector Search's
upsert/remove, and record every call, so pipeline tests can say exactly what
was embedded, written and removed.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from llmops.backends.base import Datapoint, Neighbor, StoredObject
from llmops.contract import EmbeddingModel
from llmops.errors import ConflictError, NotFoundError, TransientError


class MemoryObjectStore:
    def __init__(self) -> None:
        self.live: dict[tuple[str, str], StoredObject] = {}
        self.history: dict[tuple[str, str, int], StoredObject] = {}
        self.writes: list[tuple[str, str]] = []
        self._generations = itertools.count(1_000_000)

    def read(
        self, bucket: str, name: str, generation: int | None = None
    ) -> StoredObject:
        if generation is None:
            if (bucket, name) not in self.live:
                raise NotFoundError(f"{bucket}/{name}")
            return self.live[bucket, name]
        if (bucket, name, generation) not in self.history:
            raise NotFoundError(f"{bucket}/{name}#{generation}")
        return self.history[bucket, name, generation]

    def write(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        if_generation_match: int | None = None,
    ) -> int:
        current = self.live.get((bucket, name))
        if if_generation_match is not None:
            have = current.generation if current else 0
            if have != if_generation_match:
                raise ConflictError(f"{bucket}/{name}: {have} != {if_generation_match}")
        generation = next(self._generations)
        stored = StoredObject(
            bucket, name, generation, data, content_type, dict(metadata or {})
        )
        self.live[bucket, name] = stored
        self.history[bucket, name, generation] = stored
        self.writes.append((bucket, name))
        return generation

    def delete(
        self, bucket: str, name: str, *, if_generation_match: int | None = None
    ) -> None:
        current = self.live.get((bucket, name))
        mismatch = current and current.generation != if_generation_match
        if if_generation_match is not None and mismatch:
            raise ConflictError(f"{bucket}/{name}")
        if current:
            del self.live[bucket, name]
            # A deleted generation can no longer be read (no versioning).
            self.history.pop((bucket, name, current.generation), None)

    def list(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(n for b, n in self.live if b == bucket and n.startswith(prefix))

    def live_generation(self, bucket: str, name: str) -> int | None:
        current = self.live.get((bucket, name))
        return current.generation if current else None


class MemoryTables:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.missing: set[str] = set()

    def check_table(self, table: str) -> None:
        if table in self.missing:
            raise NotFoundError(f"table {table} not found")

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self.check_table(table)
        self.rows.setdefault(table, []).extend(dict(r) for r in rows)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        raise NotImplementedError("pipeline tests read rows directly")


class MemoryIndex:
    def __init__(self, dimensions: int) -> None:
        self._dimensions = dimensions
        self.points: dict[str, Datapoint] = {}
        self.calls: list[tuple[str, int]] = []
        self.fail_with: Exception | None = None

    def dimensions(self) -> int:
        return self._dimensions

    def upsert(self, datapoints: Sequence[Datapoint]) -> None:
        if self.fail_with:
            raise self.fail_with
        self.calls.append(("upsert", len(datapoints)))
        for point in datapoints:
            self.points[point.id] = point

    def remove(self, ids: Sequence[str]) -> None:
        self.calls.append(("remove", len(ids)))
        for key in ids:
            self.points.pop(key, None)

    def query(
        self, vector: Sequence[float], *, k: int, restricts: Any = None
    ) -> list[Neighbor]:
        scored = [
            Neighbor(p.id, sum(a * b for a, b in zip(vector, p.vector, strict=True)))
            for p in self.points.values()
            if all(
                p.restricts.get(ns) in vals for ns, vals in (restricts or {}).items()
            )
        ]
        return sorted(scored, key=lambda n: -n.score)[:k]


class WordTokens:
    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]


class HashEmbedder:
    """Deterministic bag-of-words vectors; records every request."""

    def __init__(self, dimensions: int = 64, max_batch: int = 8) -> None:
        self.model = EmbeddingModel(
            "fake-embedder", "local", dimensions, 256, max_batch, 4096
        )
        self.dimensions = dimensions
        self.tokenizer = WordTokens()
        self.requests: list[int] = []
        self.fail_with: Exception | None = None

    def embed(self, texts: Sequence[str], *, task: str) -> list[list[float]]:
        if self.fail_with:
            raise self.fail_with
        assert len(texts) <= self.model.max_batch
        self.requests.append(len(texts))
        vectors = []
        for text in texts:
            vector = [0.0] * self.dimensions
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "big") % self.dimensions] += 1.0
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            vectors.append([v / norm for v in vector])
        return vectors


__all__ = [
    "HashEmbedder",
    "MemoryIndex",
    "MemoryObjectStore",
    "MemoryTables",
    "TransientError",
]
