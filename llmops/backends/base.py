"""The interfaces every backend implements.

Each is the smallest surface the runtime needs. Errors a retry can cure are
raised as ``TransientError``; a missing object as ``NotFoundError``; a failed
precondition as ``ConflictError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from llmops.contract import EmbeddingModel


@dataclass(frozen=True)
class StoredObject:
    """One generation of an object, with its bytes."""

    bucket: str
    name: str
    generation: int
    data: bytes
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class ObjectStore(Protocol):
    """Cloud Storage semantics: objects have generations and preconditions."""

    def read(
        self, bucket: str, name: str, generation: int | None = None
    ) -> StoredObject:
        """Return the object (at ``generation`` if given) or raise NotFoundError."""
        ...

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
        """Write and return the new generation.

        ``if_generation_match=0`` means "only if absent"; a failed
        precondition raises ConflictError.
        """
        ...

    def delete(
        self, bucket: str, name: str, *, if_generation_match: int | None = None
    ) -> None:
        """Delete the live object; a missing one is not an error."""
        ...

    def list(self, bucket: str, prefix: str = "") -> list[str]:
        """Names of the live objects under ``prefix``."""
        ...

    def live_generation(self, bucket: str, name: str) -> int | None:
        """The live object's generation (metadata only), or None if there is none."""
        ...


@runtime_checkable
class TokenCounter(Protocol):
    """A tokenizer as the chunker needs it: token spans in character offsets."""

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of each token of ``text``."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length vectors, one request at a time."""

    model: EmbeddingModel
    dimensions: int
    tokenizer: TokenCounter

    def embed(self, texts: Sequence[str], *, task: str) -> list[list[float]]:
        """Embed one request's worth of ``texts``.

        ``task`` is ``"document"`` or ``"query"``. The caller keeps each
        request within ``model.max_batch`` inputs and
        ``model.max_tokens_per_request`` tokens.
        """
        ...


@dataclass(frozen=True)
class Datapoint:
    """A vector and the restricts it can be filtered by."""

    id: str
    vector: Sequence[float]
    restricts: Mapping[str, str]


@dataclass(frozen=True)
class Neighbor:
    """A query hit: the datapoint id and its similarity (higher is closer)."""

    id: str
    score: float


@runtime_checkable
class VectorIndex(Protocol):
    """A vector index that takes streaming upserts and removals."""

    def dimensions(self) -> int:
        """The dimension the index was created with."""
        ...

    def upsert(self, datapoints: Sequence[Datapoint]) -> None: ...

    def remove(self, ids: Sequence[str]) -> None: ...

    def query(
        self,
        vector: Sequence[float],
        *,
        k: int,
        restricts: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Neighbor]:
        """Nearest datapoints; restricts AND across namespaces, OR within one."""
        ...


@runtime_checkable
class TableStore(Protocol):
    """Append rows to, and query, the monitoring tables."""

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append rows; raise InputError naming each rejected row and why."""
        ...

    def check_table(self, table: str) -> None:
        """Raise NotFoundError unless ``table`` exists and can be written."""
        ...

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run ``sql`` with ``@name`` parameters; ``{dataset}`` is the dataset."""
        ...
