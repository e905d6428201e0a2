"""Recording fakes of the Vertex AI gRPC services the cloud backends call.

``FakeVertex`` is one in-process gRPC server on 127.0.0.1 that serves
``PredictionService.Predict``, ``IndexService.{GetIndex, UpsertDatapoints,
RemoveDatapoints}``, ``IndexEndpointService.GetIndexEndpoint`` and
``MatchService.FindNeighbors``. The real GAPIC clients connect to it over an
insecure channel. Every request is recorded as the service decoded it; a
test can queue a failure status (429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE,
400 INVALID_ARGUMENT...), a delay, or its own answer for any method.

Its default answers follow the documented behaviour: Predict returns one
deterministic, deliberately not unit-length embedding per instance at the
requested ``outputDimensionality``; FindNeighbors ranks the upserted
datapoints by dot product, keeping those that match every restrict
namespace (AND) with any allowed value (OR).
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud.aiplatform_v1 import (
    DeployedIndex,
    FindNeighborsRequest,
    FindNeighborsResponse,
    GetIndexEndpointRequest,
    GetIndexRequest,
    Index,
    IndexDatapoint,
    IndexEndpoint,
    PredictRequest,
    PredictResponse,
    RemoveDatapointsRequest,
    RemoveDatapointsResponse,
    UpsertDatapointsRequest,
    UpsertDatapointsResponse,
)

PREDICT = "PredictionService/Predict"
GET_INDEX = "IndexService/GetIndex"
UPSERT = "IndexService/UpsertDatapoints"
REMOVE = "IndexService/RemoveDatapoints"
GET_INDEX_ENDPOINT = "IndexEndpointService/GetIndexEndpoint"
FIND_NEIGHBORS = "MatchService/FindNeighbors"

_PACKAGE = "google.cloud.aiplatform.v1"
_MESSAGES: dict[str, tuple[Any, Any]] = {
    PREDICT: (PredictRequest, PredictResponse),
    GET_INDEX: (GetIndexRequest, Index),
    UPSERT: (UpsertDatapointsRequest, UpsertDatapointsResponse),
    REMOVE: (RemoveDatapointsRequest, RemoveDatapointsResponse),
    GET_INDEX_ENDPOINT: (GetIndexEndpointRequest, IndexEndpoint),
    FIND_NEIGHBORS: (FindNeighborsRequest, FindNeighborsResponse),
}


@dataclass(frozen=True)
class Call:
    """One request as the fake received it."""

    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class _Fault:
    code: grpc.StatusCode
    message: str


@dataclass
class FakeIndex:
    """What the fake knows of one Vector Search index."""

    dimensions: int
    distance_measure: str = "DOT_PRODUCT_DISTANCE"
    update_method: Index.IndexUpdateMethod = Index.IndexUpdateMethod.STREAM_UPDATE
    datapoints: dict[str, IndexDatapoint] = field(default_factory=dict)


def raw_embedding(content: str, task_type: str, dimensions: int) -> list[float]:
    """The fake's embedding of ``content``: deterministic, not unit length."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{task_type}|{counter}|{content}".encode()).digest()
        for (word,) in struct.iter_unpack(">I", digest):
            values.append(3.0 * (word / 2**32 - 0.5))
        counter += 1
    return values[:dimensions]


class FakeVertex:
    """A recording Vertex AI server on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.indexes: dict[str, FakeIndex] = {}
        # index endpoint resource name -> (public domain, deployed index ids)
        self.endpoints: dict[str, tuple[str, list[str]]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._answers: dict[str, Callable[[Any], Any]] = {}
        self._lock = threading.Lock()
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        self._server.add_generic_rpc_handlers(self._handlers())
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"

    def start(self) -> FakeVertex:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None).wait(5)

    # What a test configures.

    def fail(
        self, method: str, code: grpc.StatusCode, message: str, *, times: int = 1
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``code``."""
        with self._lock:
            self._faults.setdefault(method, []).extend(
                _Fault(code, message) for _ in range(times)
            )

    def delay(self, method: str, seconds: float) -> None:
        """Hold every call of ``method`` for ``seconds`` before answering."""
        self._delays[method] = seconds

    def answer(self, method: str, handler: Callable[[Any], Any]) -> None:
        """Answer ``method`` with ``handler(request)`` instead of the default."""
        self._answers[method] = handler

    def requests(self, method: str) -> list[Any]:
        """The requests ``method`` received, in order."""
        return [call.request for call in self.calls if call.method == method]

    # The services.

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        defaults: dict[str, Callable[[Any], Any]] = {
            PREDICT: self._predict,
            GET_INDEX: self._get_index,
            UPSERT: self._upsert,
            REMOVE: self._remove,
            GET_INDEX_ENDPOINT: self._get_index_endpoint,
            FIND_NEIGHBORS: self._find_neighbors,
        }
        by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for method, (request_type, response_type) in _MESSAGES.items():
            service, name = method.split("/")
            by_service.setdefault(service, {})[name] = (
                grpc.unary_unary_rpc_method_handler(
                    self._recording(method, defaults[method]),
                    request_deserializer=request_type.deserialize,
                    response_serializer=response_type.serialize,
                )
            )
        return [
            grpc.method_handlers_generic_handler(f"{_PACKAGE}.{service}", methods)
            for service, methods in by_service.items()
        ]

    def _recording(
        self, method: str, default: Callable[[Any], Any]
    ) -> Callable[[Any, grpc.ServicerContext], Any]:
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            metadata = {key: str(value) for key, value in context.invocation_metadata()}
            with self._lock:
                self.calls.append(Call(method, request, metadata))
                queued = self._faults.get(method)
                fault = queued.pop(0) if queued else None
            if method in self._delays:
                time.sleep(self._delays[method])
            if fault is not None:
                context.abort(fault.code, fault.message)
            try:
                return self._answers.get(method, default)(request)
            except KeyError as exc:
                context.abort(grpc.StatusCode.NOT_FOUND, f"{exc.args[0]} not found")

        return handle

    def _predict(self, request: PredictRequest) -> PredictResponse:
        parameters = request.parameters or {}
        dimensions = int(parameters.get("outputDimensionality") or 768)
        response = PredictResponse(deployed_model_id="publisher")
        response.predictions.extend(
            {
                "embeddings": {
                    "values": raw_embedding(
                        instance["content"], instance["task_type"], dimensions
                    ),
                    "statistics": {
                        "truncated": False,
                        "token_count": len(instance["content"].split()),
                    },
                }
            }
            for instance in request.instances
        )
        return response

    def _get_index(self, request: GetIndexRequest) -> Index:
        index = self.indexes[request.name]
        return Index(
            name=request.name,
            metadata={
                "config": {
                    "dimensions": index.dimensions,
                    "distanceMeasureType": index.distance_measure,
                    "featureNormType": "UNIT_L2_NORM",
                }
            },
            index_update_method=index.update_method,
        )

    def _upsert(self, request: UpsertDatapointsRequest) -> UpsertDatapointsResponse:
        index = self.indexes[request.index]
        for point in request.datapoints:
            index.datapoints[point.datapoint_id] = point
        return UpsertDatapointsResponse()

    def _remove(self, request: RemoveDatapointsRequest) -> RemoveDatapointsResponse:
        index = self.indexes[request.index]
        for point_id in request.datapoint_ids:
            index.datapoints.pop(point_id, None)
        return RemoveDatapointsResponse()

    def _get_index_endpoint(self, request: GetIndexEndpointRequest) -> IndexEndpoint:
        domain, deployed = self.endpoints[request.name]
        return IndexEndpoint(
            name=request.name,
            public_endpoint_domain_name=domain,
            deployed_indexes=[DeployedIndex(id=d) for d in deployed],
        )

    def _find_neighbors(self, request: FindNeighborsRequest) -> FindNeighborsResponse:
        # The fake serves one index per endpoint: the only one it has.
        (index,) = self.indexes.values()
        response = FindNeighborsResponse()
        for query in request.queries:
            wanted = {r.namespace: set(r.allow_list) for r in query.datapoint.restricts}
            hits = []
            for point in index.datapoints.values():
                have: dict[str, set[str]] = {}
                for r in point.restricts:
                    have.setdefault(r.namespace, set()).update(r.allow_list)
                if all(have.get(ns, set()) & allowed for ns, allowed in wanted.items()):
                    dot = sum(
                        a * b
                        for a, b in zip(
                            query.datapoint.feature_vector,
                            point.feature_vector,
                            strict=True,
                        )
                    )
                    hits.append((dot, point.datapoint_id))
            hits.sort(reverse=True)
            response.nearest_neighbors.append(
                FindNeighborsResponse.NearestNeighbors(
                    id=query.datapoint.datapoint_id,
                    neighbors=[
                        FindNeighborsResponse.Neighbor(
                            datapoint=IndexDatapoint(datapoint_id=point_id),
                            distance=dot,
                        )
                        for dot, point_id in hits[: query.neighbor_count]
                    ],
                )
            )
        return response
