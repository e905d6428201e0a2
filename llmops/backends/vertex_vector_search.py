"""Vertex AI Vector Search behind the ``VectorIndex`` face.

Writes go to the index with streaming updates (``IndexService.UpsertDatapoints``
and ``RemoveDatapoints``), so the index must have been created with
``STREAM_UPDATE``. Queries go to the deployed index through
``MatchService.FindNeighbors`` on the index endpoint's public domain, or on a
private (PSC or peering) address given in the configuration.

Every datapoint carries its restricts as ``Restriction(namespace,
allow_list=[value])``; a query's restricts match AND across namespaces and OR
within one, as Vector Search defines them.

Scores: for ``DOT_PRODUCT_DISTANCE`` (the platform's choice, with unit-length
vectors) the ``distance`` Vector Search returns is the dot product itself, so
higher is closer and the score is the distance unchanged. For
``SQUARED_L2_DISTANCE`` lower is closer and the score is the negated distance.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from google.cloud.aiplatform_v1 import (
    FindNeighborsRequest,
    Index,
    IndexDatapoint,
    IndexEndpointServiceClient,
    IndexServiceClient,
    MatchServiceClient,
    RemoveDatapointsRequest,
    UpsertDatapointsRequest,
)

from llmops import contract as c
from llmops.backends.base import Datapoint, Neighbor
from llmops.backends.vertex_embeddings import (
    CALL_ERRORS,
    default_api_endpoint,
    raise_for_call,
    vertex_client,
)
from llmops.errors import ConfigError, InputError
from llmops.settings import Settings

logger = logging.getLogger(__name__)

# One streaming call carries at most this many datapoints: a request of
# 768-dimension datapoints stays near 3 MB and well within one call's
# deadline, and a failed call redoes at most this much work (upserts and
# removals are idempotent by id, so the caller simply retries).
MAX_DATAPOINTS_PER_CALL = 1000
# And at most this many encoded bytes, a margin of our own: 1000 datapoints of
# 3072 dimensions (gemini-embedding-001) would make one 12 MB request.
MAX_REQUEST_BYTES = 8 * 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_QUERY_TIMEOUT_S = 10.0

DOT_PRODUCT = "DOT_PRODUCT_DISTANCE"
SQUARED_L2 = "SQUARED_L2_DISTANCE"
DISTANCE_MEASURES = (DOT_PRODUCT, SQUARED_L2)

_INDEX_NAME = re.compile(r"projects/([^/]+)/locations/([^/]+)/indexes/([^/]+)")
_ENDPOINT_NAME = re.compile(
    r"projects/([^/]+)/locations/([^/]+)/indexEndpoints/([^/]+)"
)
_DEPLOYED_INDEX_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# The protobuf class behind the proto-plus IndexDatapoint.
_RawDatapoint: Any = IndexDatapoint.pb()


class VertexVectorIndex:
    """``VectorIndex`` on a Vector Search index and its deployment.

    ``index`` and ``index_endpoint`` are full resource names (the stack
    outputs ``vectorIndex`` and ``indexEndpoint``). ``match_endpoint`` is where
    queries go: the endpoint's public domain, or a private ``IP:PORT``; left
    out, it is read once from the index endpoint's public domain. Ready
    clients may be given instead of the endpoints they would be built for.
    """

    def __init__(
        self,
        index: str,
        index_endpoint: str,
        deployed_index_id: str,
        *,
        api_endpoint: str | None = None,
        match_endpoint: str | None = None,
        distance_measure: str = DOT_PRODUCT,
        index_client: IndexServiceClient | None = None,
        endpoint_client: IndexEndpointServiceClient | None = None,
        match_client: MatchServiceClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        query_timeout: float = DEFAULT_QUERY_TIMEOUT_S,
        batch_size: int = MAX_DATAPOINTS_PER_CALL,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        index_match = _INDEX_NAME.fullmatch(index or "")
        if index_match is None:
            raise ConfigError(
                f"{c.ENV_VECTOR_INDEX} must be an index resource name "
                "projects/P/locations/L/indexes/ID, got "
                f"{index!r}; use the stack output {c.OUTPUT_VECTOR_INDEX}"
            )
        endpoint_match = _ENDPOINT_NAME.fullmatch(index_endpoint or "")
        if endpoint_match is None:
            raise ConfigError(
                f"{c.ENV_INDEX_ENDPOINT} must be an index endpoint resource name "
                "projects/P/locations/L/indexEndpoints/ID, got "
                f"{index_endpoint!r}; use the stack output {c.OUTPUT_INDEX_ENDPOINT}"
            )
        location = index_match.group(2)
        if endpoint_match.group(2) != location:
            raise ConfigError(
                f"the index is in {location} but its endpoint is in "
                f"{endpoint_match.group(2)}; set {c.ENV_VECTOR_INDEX} and "
                f"{c.ENV_INDEX_ENDPOINT} from the same stack"
            )
        if not _DEPLOYED_INDEX_ID.fullmatch(deployed_index_id or ""):
            raise ConfigError(
                f"{c.ENV_DEPLOYED_INDEX_ID} must start with a letter and hold "
                f"letters, digits and underscores, got {deployed_index_id!r}; use "
                f"the stack output {c.OUTPUT_DEPLOYED_INDEX_ID}"
            )
        if distance_measure not in DISTANCE_MEASURES:
            raise ConfigError(
                f"distance measure must be one of {', '.join(DISTANCE_MEASURES)}, "
                f"got {distance_measure!r}"
            )
        if not 1 <= batch_size <= MAX_DATAPOINTS_PER_CALL:
            raise ConfigError(
                f"batch_size must be between 1 and {MAX_DATAPOINTS_PER_CALL} "
                f"datapoints per call, got {batch_size}"
            )
        if max_request_bytes < 1024:
            raise ConfigError(
                f"max_request_bytes must be at least 1024, got {max_request_bytes}"
            )

        self.index = index
        self.index_endpoint = index_endpoint
        self.deployed_index_id = deployed_index_id
        self.distance_measure = distance_measure
        self.api_endpoint = api_endpoint or default_api_endpoint(location)
        self.match_endpoint = match_endpoint
        self._timeout = timeout
        self._query_timeout = query_timeout
        self._batch_size = batch_size
        self._max_request_bytes = max_request_bytes
        self._index_client = index_client
        self._endpoint_client = endpoint_client
        self._match_client = match_client
        # Clients given by the caller stay the caller's to close.
        self._given = {
            id(x) for x in (index_client, endpoint_client, match_client) if x
        }
        self._dimensions: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, match_endpoint: str | None = None
    ) -> VertexVectorIndex:
        """The index the settings describe; queries go to ``match_endpoint``.

        Without ``match_endpoint`` the index endpoint's public domain is used.
        """
        if not (
            settings.vector_index
            and settings.index_endpoint
            and settings.deployed_index_id
        ):
            raise ConfigError(
                f"{c.ENV_VECTOR_INDEX}, {c.ENV_INDEX_ENDPOINT} and "
                f"{c.ENV_DEPLOYED_INDEX_ID} must all be set for Vector Search"
            )
        return cls(
            settings.vector_index,
            settings.index_endpoint,
            settings.deployed_index_id,
            api_endpoint=settings.vertex_endpoint,
            match_endpoint=match_endpoint,
        )

    # Clients, built on first use.

    def _indexes(self) -> IndexServiceClient:
        with self._lock:
            if self._index_client is None:
                self._index_client = vertex_client(
                    IndexServiceClient, self.api_endpoint
                )
            return self._index_client

    def _endpoints(self) -> IndexEndpointServiceClient:
        with self._lock:
            if self._endpoint_client is None:
                self._endpoint_client = vertex_client(
                    IndexEndpointServiceClient, self.api_endpoint
                )
            return self._endpoint_client

    def _matcher(self) -> MatchServiceClient:
        if self._match_client is not None:
            return self._match_client
        address = self.match_endpoint or self._public_domain()
        with self._lock:
            if self._match_client is None:
                # Limitation: a private deployment is dialled with the same v1
                # FindNeighbors call over plain gRPC; deployments that answer
                # only the older container MatchService (BatchMatch on port
                # 10000) are not reached, until that protocol is added here.
                self._match_client = vertex_client(
                    MatchServiceClient, address, any_ip=True
                )
            return self._match_client

    def close(self) -> None:
        """Close every channel this index opened; later calls open new ones."""
        with self._lock:
            if self._index_client and id(self._index_client) not in self._given:
                self._index_client.transport.close()
                self._index_client = None
            if self._endpoint_client and id(self._endpoint_client) not in self._given:
                self._endpoint_client.transport.close()
                self._endpoint_client = None
            if self._match_client and id(self._match_client) not in self._given:
                self._match_client.transport.close()
                self._match_client = None

    def _public_domain(self) -> str:
        try:
            endpoint = self._endpoints().get_index_endpoint(
                name=self.index_endpoint, timeout=self._timeout
            )
        except CALL_ERRORS as exc:
            raise_for_call(
                exc,
                what=f"reading index endpoint {self.index_endpoint}",
                fix=f"check {c.ENV_INDEX_ENDPOINT}",
            )
        deployed = [d.id for d in endpoint.deployed_indexes]
        if self.deployed_index_id not in deployed:
            raise ConfigError(
                f"index endpoint {self.index_endpoint} has no deployed index "
                f"{self.deployed_index_id!r} (it has {deployed or 'none'}); set "
                f"{c.ENV_DEPLOYED_INDEX_ID} to the one deployed there"
            )
        if not endpoint.public_endpoint_domain_name:
            raise ConfigError(
                f"index endpoint {self.index_endpoint} has no public domain (it is "
                "private); give the PSC or peering address as match_endpoint "
                "(IP:PORT)"
            )
        return endpoint.public_endpoint_domain_name

    # The index.

    def dimensions(self) -> int:
        """The index's dimension, read once from its metadata config."""
        if self._dimensions is None:
            self._dimensions = self._read_index()
        return self._dimensions

    def _read_index(self) -> int:
        try:
            index = self._indexes().get_index(name=self.index, timeout=self._timeout)
        except CALL_ERRORS as exc:
            raise_for_call(
                exc,
                what=f"reading index {self.index}",
                fix=f"check {c.ENV_VECTOR_INDEX}",
            )
        config: Any = (index.metadata or {}).get("config") or {}
        raw = config.get("dimensions")
        if not isinstance(raw, (int, float)) or raw < 1 or raw != int(raw):
            raise ConfigError(
                f"index {self.index} has no usable metadata.config.dimensions "
                f"(got {raw!r}); it must be a Vector Search index created by the "
                "platform"
            )
        measure = config.get("distanceMeasureType")
        if measure and measure != self.distance_measure:
            raise ConfigError(
                f"index {self.index} ranks by {measure}, but this backend is set "
                f"for {self.distance_measure}; configure the same distance measure"
            )
        if index.index_update_method != Index.IndexUpdateMethod.STREAM_UPDATE:
            raise ConfigError(
                f"index {self.index} takes {index.index_update_method.name} updates; "
                "streaming upserts need an index created with STREAM_UPDATE (the "
                "update method cannot be changed: recreate the index)"
            )
        return int(raw)

    def upsert(self, datapoints: Sequence[Datapoint]) -> None:
        """Write datapoints in calls of at most 1000 (and 8 MiB) each.

        Vectors are checked against the index's dimension before any write.
        A failure part way leaves the earlier calls applied; upserting the
        same datapoints again is safe.
        """
        if not datapoints:
            return
        dimensions = self.dimensions()
        protos = [self._datapoint(point, dimensions) for point in datapoints]
        seen: set[str] = set()
        for point in datapoints:
            if point.id in seen:
                raise InputError(
                    f"datapoint id {point.id!r} appears twice in one upsert; "
                    "send each id once"
                )
            seen.add(point.id)

        started = time.monotonic()
        calls = 0
        for batch in self._batches(protos):
            request = UpsertDatapointsRequest(index=self.index, datapoints=batch)
            try:
                self._indexes().upsert_datapoints(
                    request=request, timeout=self._timeout
                )
            except CALL_ERRORS as exc:
                raise_for_call(
                    exc,
                    what=f"upserting {len(batch)} datapoints into {self.index}",
                    fix="check the datapoints' vectors and restricts",
                )
            calls += 1
        logger.info(
            "vectors.upsert index=%s datapoints=%d calls=%d ms=%d",
            self.index,
            len(protos),
            calls,
            (time.monotonic() - started) * 1000,
        )

    def remove(self, ids: Sequence[str]) -> None:
        """Remove datapoints by id in calls of at most 1000; unknown ids are no-ops."""
        if not ids:
            return
        started = time.monotonic()
        calls = 0
        for start in range(0, len(ids), self._batch_size):
            chunk = list(ids[start : start + self._batch_size])
            request = RemoveDatapointsRequest(index=self.index, datapoint_ids=chunk)
            try:
                self._indexes().remove_datapoints(
                    request=request, timeout=self._timeout
                )
            except CALL_ERRORS as exc:
                raise_for_call(
                    exc,
                    what=f"removing {len(chunk)} datapoints from {self.index}",
                    fix="check the datapoint ids",
                )
            calls += 1
        logger.info(
            "vectors.remove index=%s datapoints=%d calls=%d ms=%d",
            self.index,
            len(ids),
            calls,
            (time.monotonic() - started) * 1000,
        )

    def query(
        self,
        vector: Sequence[float],
        *,
        k: int,
        restricts: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Neighbor]:
        """The ``k`` nearest datapoints, closest first, scored higher-is-closer.

        ``restricts`` maps a namespace to the values allowed in it: a
        datapoint matches when, in every namespace given, it has one of them.
        """
        if k < 1:
            raise InputError(f"k must be at least 1 neighbor, got {k}")
        if not vector:
            raise InputError("the query vector is empty; embed the query first")
        query_point = IndexDatapoint(
            datapoint_id="query",
            feature_vector=[float(v) for v in vector],
            restricts=[
                IndexDatapoint.Restriction(namespace=namespace, allow_list=values)
                for namespace, values in _query_restricts(restricts)
            ],
        )
        request = FindNeighborsRequest(
            index_endpoint=self.index_endpoint,
            deployed_index_id=self.deployed_index_id,
            queries=[
                FindNeighborsRequest.Query(datapoint=query_point, neighbor_count=k)
            ],
            return_full_datapoint=False,
        )

        started = time.monotonic()
        matcher = self._matcher()
        try:
            response = matcher.find_neighbors(
                request=request, timeout=self._query_timeout
            )
        except CALL_ERRORS as exc:
            raise_for_call(
                exc,
                what=(
                    f"querying deployed index {self.deployed_index_id} on "
                    f"{self.index_endpoint}"
                ),
                fix="check the query vector's dimension and the restricts",
            )
        found = (
            response.nearest_neighbors[0].neighbors
            if response.nearest_neighbors
            else []
        )
        neighbors = [
            Neighbor(id=hit.datapoint.datapoint_id, score=self._score(hit.distance))
            for hit in found
        ]
        neighbors.sort(key=lambda hit: hit.score, reverse=True)
        logger.info(
            "vectors.query endpoint=%s deployed_index=%s k=%d namespaces=%d hits=%d "
            "ms=%d",
            self.index_endpoint,
            self.deployed_index_id,
            k,
            len(restricts or {}),
            len(neighbors),
            (time.monotonic() - started) * 1000,
        )
        return neighbors

    def _score(self, distance: float) -> float:
        # DOT_PRODUCT_DISTANCE returns the dot product itself (higher is
        # closer); SQUARED_L2_DISTANCE a distance (lower is closer).
        return distance if self.distance_measure == DOT_PRODUCT else -distance

    def _datapoint(self, point: Datapoint, dimensions: int) -> IndexDatapoint:
        if not point.id:
            raise InputError("a datapoint has an empty id; give every datapoint an id")
        if len(point.vector) != dimensions:
            raise InputError(
                f"datapoint {point.id!r} has {len(point.vector)} dimensions, but "
                f"index {self.index} has {dimensions}; embed with "
                f"{c.ENV_EMBEDDING_DIMENSIONS}={dimensions}"
            )
        vector = [float(v) for v in point.vector]
        if not all(math.isfinite(v) for v in vector):
            raise InputError(f"datapoint {point.id!r} has a non-finite value")
        restrictions = []
        for namespace, value in point.restricts.items():
            if not namespace or not isinstance(value, str) or not value:
                raise InputError(
                    f"datapoint {point.id!r} has restrict {namespace!r}={value!r}; "
                    "restricts need a namespace and a non-empty string value"
                )
            restrictions.append(
                _RawDatapoint.Restriction(namespace=namespace, allow_list=[value])
            )
        # Built as the raw message and wrapped: proto-plus converts a repeated
        # float field value by value, about 60 times slower.
        return IndexDatapoint.wrap(
            _RawDatapoint(
                datapoint_id=point.id, feature_vector=vector, restricts=restrictions
            )
        )

    def _batches(self, protos: list[IndexDatapoint]) -> Iterator[list[IndexDatapoint]]:
        batch: list[IndexDatapoint] = []
        size = 0
        for proto in protos:
            # A repeated field costs its bytes plus a tag and a length prefix.
            cost = IndexDatapoint.pb(proto).ByteSize() + 8
            if batch and (
                len(batch) >= self._batch_size or size + cost > self._max_request_bytes
            ):
                yield batch
                batch, size = [], 0
            batch.append(proto)
            size += cost
        if batch:
            yield batch


def _query_restricts(
    restricts: Mapping[str, Sequence[str]] | None,
) -> list[tuple[str, list[str]]]:
    pairs: list[tuple[str, list[str]]] = []
    for namespace, values in (restricts or {}).items():
        if isinstance(values, str):
            raise InputError(
                f"restrict {namespace!r} must list its values, got the string "
                f"{values!r}; pass [{values!r}]"
            )
        allowed = [v for v in values if v]
        if not namespace or not allowed:
            raise InputError(
                f"restrict {namespace!r} has no values; leave a namespace out to "
                "not filter on it"
            )
        pairs.append((namespace, allowed))
    return pairs
