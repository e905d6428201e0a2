"""Milvus as the vector index: Milvus Lite locally, a Milvus cluster at scale.

Datapoints become rows (id, vector, one VARCHAR field per restrict
namespace); restricts become a boolean filter with the same meaning as Vector
Search's: AND across namespaces, OR within one. Vectors are unit length and
the metric is inner product, the equivalent of Vector Search's DOT_PRODUCT on
UNIT_L2_NORM.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from llmops.backends.base import Datapoint, Neighbor
from llmops.contract import RESTRICT_NAMESPACES
from llmops.errors import ConfigError, InputError, TransientError

logger = logging.getLogger(__name__)

_ID_LENGTH = 256
_RESTRICT_LENGTH = 1024
# Milvus refuses very large single requests; this keeps each well below.
_UPSERT_BATCH = 500


def _transient(error: Exception) -> bool:
    text = str(error).lower()
    return any(
        word in text
        for word in ("unavailable", "connection", "timeout", "deadline", "rate limit")
    )


def _released(error: Exception) -> bool:
    text = str(error).lower()
    return "released" in text or "not loaded" in text


class MilvusVectorIndex:
    """One Milvus collection holding every datapoint of the platform."""

    def __init__(self, uri: str, collection: str, *, token: str | None = None) -> None:
        from pymilvus import MilvusClient

        self._collection = collection
        self._uri = uri
        self._loaded = False
        try:
            self._client = MilvusClient(uri=uri, token=token or "")
        except Exception as error:
            raise TransientError(
                f"cannot reach Milvus at {uri} ({error}); check LLMOPS_MILVUS_URI "
                "and that the server is up"
            ) from error

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (InputError, ConfigError, TransientError):
            raise
        except Exception as error:  # pymilvus raises many kinds
            if not _released(error):
                raise self._translate(what, error) from error
        # A collection that a restarted server released is loaded, then retried.
        try:
            self._client.load_collection(self._collection)
            return fn(*args, **kwargs)
        except Exception as error:  # pymilvus raises many kinds
            raise self._translate(what, error) from error

    def _translate(self, what: str, error: Exception) -> Exception:
        if _transient(error):
            return TransientError(f"Milvus {what} failed: {error}")
        return InputError(
            f"Milvus {what} on collection {self._collection!r} failed: {error}"
        )

    def ensure_collection(self, dimensions: int) -> None:
        """Create the collection for ``dimensions`` unless it exists."""
        from pymilvus import DataType, MilvusClient

        if self._call("list", self._client.has_collection, self._collection):
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=_ID_LENGTH)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimensions)
        for namespace in RESTRICT_NAMESPACES:
            schema.add_field(namespace, DataType.VARCHAR, max_length=_RESTRICT_LENGTH)
        index = self._client.prepare_index_params()
        index.add_index(
            field_name="vector",
            index_type="HNSW",
            metric_type="IP",
            params={"M": 16, "efConstruction": 200},
        )
        self._call(
            "create",
            self._client.create_collection,
            self._collection,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
        )
        logger.info(
            "milvus.collection_created",
            extra={
                "fields": {"collection": self._collection, "dimensions": dimensions}
            },
        )

    def dimensions(self) -> int:
        if not self._call("list", self._client.has_collection, self._collection):
            raise ConfigError(
                f"Milvus collection {self._collection!r} does not exist at "
                f"{self._uri}; start the platform with `llmops local up` or set "
                "LLMOPS_MILVUS_COLLECTION"
            )
        info = self._call(
            "describe", self._client.describe_collection, self._collection
        )
        for field in info["fields"]:
            if field["name"] == "vector":
                return int(field["params"]["dim"])
        raise ConfigError(
            f"Milvus collection {self._collection!r} has no 'vector' field; it was "
            "not created by this platform"
        )

    def upsert(self, datapoints: Sequence[Datapoint]) -> None:
        rows = []
        for point in datapoints:
            row: dict[str, Any] = {"id": point.id, "vector": list(point.vector)}
            for namespace in RESTRICT_NAMESPACES:
                row[namespace] = point.restricts.get(namespace, "")
            rows.append(row)
        for start in range(0, len(rows), _UPSERT_BATCH):
            self._call(
                "upsert",
                self._client.upsert,
                self._collection,
                rows[start : start + _UPSERT_BATCH],
            )

    def remove(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _UPSERT_BATCH):
            self._call(
                "delete",
                self._client.delete,
                self._collection,
                ids=list(ids[start : start + _UPSERT_BATCH]),
            )

    def count(self) -> int:
        """How many datapoints the collection holds (for tests and status)."""
        self._load()
        rows = self._call(
            "query",
            self._client.query,
            self._collection,
            filter="",
            output_fields=["count(*)"],
        )
        return int(rows[0]["count(*)"])

    def ids_with_prefix(self, prefix: str) -> list[str]:
        """Datapoint ids that start with ``prefix`` (one document's)."""
        self._load()
        rows = self._call(
            "query",
            self._client.query,
            self._collection,
            filter=f"id like {json.dumps(prefix + '%')}",
            output_fields=["id"],
        )
        return sorted(row["id"] for row in rows)

    def _load(self) -> None:
        """Load the collection for search once (a no-op when it is loaded)."""
        if not self._loaded:
            self._call("load", self._client.load_collection, self._collection)
            self._loaded = True

    def query(
        self,
        vector: Sequence[float],
        *,
        k: int,
        restricts: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Neighbor]:
        self._load()
        result = self._call(
            "search",
            self._client.search,
            self._collection,
            data=[list(vector)],
            limit=k,
            filter=restrict_filter(restricts or {}),
            search_params={"metric_type": "IP", "params": {"ef": max(64, 2 * k)}},
        )
        return [Neighbor(hit["id"], float(hit["distance"])) for hit in result[0]]


def restrict_filter(restricts: Mapping[str, Sequence[str]]) -> str:
    """A Milvus boolean expression: AND across namespaces, OR within one."""
    clauses = []
    for namespace, values in sorted(restricts.items()):
        if namespace not in RESTRICT_NAMESPACES:
            raise InputError(
                f"restrict namespace {namespace!r} is not known; use one of "
                f"{', '.join(RESTRICT_NAMESPACES)}"
            )
        if values:
            # JSON string literals are valid Milvus string literals.
            listed = ", ".join(json.dumps(str(v), ensure_ascii=False) for v in values)
            clauses.append(f"{namespace} in [{listed}]")
    return " and ".join(clauses)
