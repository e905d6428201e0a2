"""Backends behind small interfaces; concrete ones are chosen at the edge.

The ingestion pipeline, the retriever and the SDK take these interfaces as
arguments and never build a concrete backend themselves.
"""

from llmops.backends.base import (
    Datapoint,
    Embedder,
    Neighbor,
    ObjectStore,
    StoredObject,
    TableStore,
    TokenCounter,
    VectorIndex,
)

__all__ = [
    "Datapoint",
    "Embedder",
    "Neighbor",
    "ObjectStore",
    "StoredObject",
    "TableStore",
    "TokenCounter",
    "VectorIndex",
]
