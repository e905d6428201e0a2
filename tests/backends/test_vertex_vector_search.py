"""VertexVectorIndex against recording Index, IndexEndpoint and Match services."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.cloud.aiplatform_v1 import (
    FindNeighborsResponse,
    Index,
    IndexDatapoint,
    UpsertDatapointsRequest,
)

from llmops.backends.base import Datapoint, VectorIndex
from llmops.backends.vertex_vector_search import MAX_REQUEST_BYTES, VertexVectorIndex
from llmops.errors import ConfigError, InputError, TransientError
from llmops.settings import Settings
from tests.backends.fakes import (
    FIND_NEIGHBORS,
    GET_INDEX,
    GET_INDEX_ENDPOINT,
    REMOVE,
    UPSERT,
    FakeIndex,
    FakeVertex,
)

INDEX = "projects/123/locations/europe-west4/indexes/456"
ENDPOINT = "projects/123/locations/europe-west4/indexEndpoints/789"
DEPLOYED = "llmops_chunks_v1"
DIMENSIONS = 4


@pytest.fixture
def fake_index(vertex_fake: FakeVertex) -> FakeIndex:
    """A 4-dimension streaming DOT_PRODUCT index in the fake, deployed publicly."""
    index = FakeIndex(dimensions=DIMENSIONS)
    vertex_fake.indexes[INDEX] = index
    vertex_fake.endpoints[ENDPOINT] = (vertex_fake.address, [DEPLOYED])
    return index


@pytest.fixture
def vectors(
    vertex_fake: FakeVertex, fake_index: FakeIndex
) -> Iterator[VertexVectorIndex]:
    """A VertexVectorIndex whose admin and match calls all go to the fake."""
    backend = VertexVectorIndex(
        INDEX,
        ENDPOINT,
        DEPLOYED,
        api_endpoint=vertex_fake.address,
        match_endpoint=vertex_fake.address,
    )
    yield backend
    backend.close()


def point(
    i: int, use_case: str = "support", vector: list[float] | None = None
) -> Datapoint:
    return Datapoint(
        id=f"doc-{i}",
        vector=vector or [1.0, 0.0, 0.0, float(i % 7) / 10],
        restricts={"use_case": use_case, "content_type": "text/plain"},
    )


def test_upsert_batches_at_most_1000_datapoints_per_call(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex, fake_index: FakeIndex
) -> None:
    """2500 datapoints go out as calls of 1000, 1000 and 500 on the index."""
    vectors.upsert([point(i) for i in range(2500)])

    requests = vertex_fake.requests(UPSERT)
    assert [len(r.datapoints) for r in requests] == [1000, 1000, 500]
    assert {r.index for r in requests} == {INDEX}
    assert len(fake_index.datapoints) == 2500


def test_upsert_sends_restricts_as_single_value_allow_lists(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex
) -> None:
    """Each restrict becomes Restriction(namespace, allow_list=[value])."""
    vectors.upsert([point(1, use_case="legal")])

    (request,) = vertex_fake.requests(UPSERT)
    (sent,) = request.datapoints
    assert sent.datapoint_id == "doc-1"
    assert list(sent.feature_vector) == pytest.approx([1.0, 0.0, 0.0, 0.1])
    assert sorted(
        (r.namespace, list(r.allow_list), list(r.deny_list)) for r in sent.restricts
    ) == [
        ("content_type", ["text/plain"], []),
        ("use_case", ["legal"], []),
    ]


def test_upsert_also_splits_batches_by_encoded_size(
    vertex_fake: FakeVertex, fake_index: FakeIndex
) -> None:
    """A byte budget per call splits a batch before the count limit does."""
    backend = VertexVectorIndex(
        INDEX,
        ENDPOINT,
        DEPLOYED,
        api_endpoint=vertex_fake.address,
        max_request_bytes=4096,
    )
    try:
        backend.upsert([point(i) for i in range(300)])
    finally:
        backend.close()

    requests = vertex_fake.requests(UPSERT)
    sizes = [
        sum(IndexDatapoint.pb(d).ByteSize() + 8 for d in r.datapoints) for r in requests
    ]
    assert len(requests) > 1
    assert max(sizes) <= 4096
    assert sum(len(r.datapoints) for r in requests) == 300


def test_wrong_vector_length_is_refused_before_any_write(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex
) -> None:
    """A vector whose length is not the index's raises InputError and writes nothing."""
    with pytest.raises(
        InputError, match="'doc-2' has 3 dimensions, but index .* has 4"
    ):
        vectors.upsert([point(1), point(2, vector=[1.0, 2.0, 3.0])])
    assert vertex_fake.requests(UPSERT) == []


def test_duplicate_ids_and_empty_restricts_are_refused(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex
) -> None:
    """The same id twice, or an empty restrict value, raises InputError upfront."""
    with pytest.raises(InputError, match="appears twice"):
        vectors.upsert([point(1), point(1)])
    with pytest.raises(InputError, match="non-empty string value"):
        vectors.upsert([point(1, use_case="")])
    assert vertex_fake.requests(UPSERT) == []


def test_remove_batches_ids_on_the_index(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex, fake_index: FakeIndex
) -> None:
    """2100 ids are removed in calls of 1000, 1000 and 100 naming the index."""
    vectors.upsert([point(i) for i in range(5)])
    vectors.remove([f"doc-{i}" for i in range(2100)])

    requests = vertex_fake.requests(REMOVE)
    assert [len(r.datapoint_ids) for r in requests] == [1000, 1000, 100]
    assert {r.index for r in requests} == {INDEX}
    assert requests[0].datapoint_ids[:2] == ["doc-0", "doc-1"]
    assert fake_index.datapoints == {}


def test_dimensions_come_from_index_metadata_once(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex
) -> None:
    """dimensions() reads metadata.config.dimensions with one GetIndex, then caches."""
    assert vectors.dimensions() == DIMENSIONS
    assert vectors.dimensions() == DIMENSIONS
    vectors.upsert([point(1)])

    (request,) = vertex_fake.requests(GET_INDEX)
    assert request.name == INDEX


def test_batch_update_index_is_a_config_error(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex, fake_index: FakeIndex
) -> None:
    """An index created for batch updates is refused before any upsert."""
    fake_index.update_method = Index.IndexUpdateMethod.BATCH_UPDATE

    with pytest.raises(ConfigError, match="STREAM_UPDATE"):
        vectors.upsert([point(1)])
    assert vertex_fake.requests(UPSERT) == []


def test_other_distance_measure_on_the_index_is_a_config_error(
    vectors: VertexVectorIndex, fake_index: FakeIndex
) -> None:
    """An index ranking by another measure than configured raises ConfigError."""
    fake_index.distance_measure = "COSINE_DISTANCE"

    with pytest.raises(ConfigError, match="ranks by COSINE_DISTANCE"):
        vectors.dimensions()


def test_query_sends_endpoint_deployed_index_and_restricts(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex
) -> None:
    """FindNeighbors names endpoint and deployed index, one restrict per namespace."""
    vectors.query(
        [0.5, 0.5, 0.5, 0.5],
        k=7,
        restricts={"use_case": ["support", "legal"], "content_type": ["text/html"]},
    )

    (request,) = vertex_fake.requests(FIND_NEIGHBORS)
    assert request.index_endpoint == ENDPOINT
    assert request.deployed_index_id == DEPLOYED
    (query,) = request.queries
    assert query.neighbor_count == 7
    assert list(query.datapoint.feature_vector) == [0.5, 0.5, 0.5, 0.5]
    assert [(r.namespace, list(r.allow_list)) for r in query.datapoint.restricts] == [
        ("use_case", ["support", "legal"]),
        ("content_type", ["text/html"]),
    ]


def test_query_restricts_and_across_namespaces_or_within_one(
    vectors: VertexVectorIndex,
) -> None:
    """Only datapoints matching every namespace, by any listed value, come back."""
    vectors.upsert(
        [
            Datapoint(
                "a",
                [1.0, 0.0, 0.0, 0.0],
                {"use_case": "support", "content_type": "pdf"},
            ),
            Datapoint(
                "b", [0.8, 0.6, 0.0, 0.0], {"use_case": "legal", "content_type": "pdf"}
            ),
            Datapoint(
                "c", [0.6, 0.8, 0.0, 0.0], {"use_case": "legal", "content_type": "html"}
            ),
            Datapoint(
                "d", [0.0, 1.0, 0.0, 0.0], {"use_case": "hr", "content_type": "pdf"}
            ),
        ]
    )

    hits = vectors.query(
        [1.0, 0.0, 0.0, 0.0],
        k=10,
        restricts={"use_case": ["support", "legal"], "content_type": ["pdf"]},
    )
    assert [h.id for h in hits] == ["a", "b"]
    assert vectors.query([1.0, 0.0, 0.0, 0.0], k=2)[1].id == "b"


def test_dot_product_distance_is_the_score_higher_is_closer(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex
) -> None:
    """For DOT_PRODUCT the returned distance is the score, closest first."""

    def answer(request: object) -> FindNeighborsResponse:
        return FindNeighborsResponse(
            nearest_neighbors=[
                FindNeighborsResponse.NearestNeighbors(
                    neighbors=[
                        FindNeighborsResponse.Neighbor(
                            datapoint=IndexDatapoint(datapoint_id=i), distance=d
                        )
                        for i, d in (("near", 0.91), ("mid", 0.42), ("far", -0.3))
                    ]
                )
            ]
        )

    vertex_fake.answer(FIND_NEIGHBORS, answer)

    hits = vectors.query([1.0, 0.0, 0.0, 0.0], k=3)
    assert [(h.id, h.score) for h in hits] == [
        ("near", pytest.approx(0.91)),
        ("mid", pytest.approx(0.42)),
        ("far", pytest.approx(-0.3)),
    ]


def test_squared_l2_distance_is_negated_so_higher_is_closer(
    vertex_fake: FakeVertex, fake_index: FakeIndex
) -> None:
    """For SQUARED_L2 the score is minus the distance, so the nearest ranks first."""

    def answer(request: object) -> FindNeighborsResponse:
        return FindNeighborsResponse(
            nearest_neighbors=[
                FindNeighborsResponse.NearestNeighbors(
                    neighbors=[
                        FindNeighborsResponse.Neighbor(
                            datapoint=IndexDatapoint(datapoint_id=i), distance=d
                        )
                        for i, d in (("near", 0.1), ("far", 1.5))
                    ]
                )
            ]
        )

    vertex_fake.answer(FIND_NEIGHBORS, answer)
    backend = VertexVectorIndex(
        INDEX,
        ENDPOINT,
        DEPLOYED,
        match_endpoint=vertex_fake.address,
        distance_measure="SQUARED_L2_DISTANCE",
    )
    try:
        hits = backend.query([1.0, 0.0, 0.0, 0.0], k=2)
    finally:
        backend.close()
    assert [(h.id, h.score) for h in hits] == [
        ("near", pytest.approx(-0.1)),
        ("far", pytest.approx(-1.5)),
    ]


def test_match_endpoint_is_read_from_the_public_domain(
    vertex_fake: FakeVertex, fake_index: FakeIndex
) -> None:
    """Without a match endpoint, the endpoint's public domain is looked up once."""
    backend = VertexVectorIndex(
        INDEX, ENDPOINT, DEPLOYED, api_endpoint=vertex_fake.address
    )
    try:
        backend.query([1.0, 0.0, 0.0, 0.0], k=1)
        backend.query([1.0, 0.0, 0.0, 0.0], k=1)
    finally:
        backend.close()

    (lookup,) = vertex_fake.requests(GET_INDEX_ENDPOINT)
    assert lookup.name == ENDPOINT
    assert len(vertex_fake.requests(FIND_NEIGHBORS)) == 2


def test_private_endpoint_without_match_address_is_a_config_error(
    vertex_fake: FakeVertex, fake_index: FakeIndex
) -> None:
    """An endpoint with no public domain, and no address given, raises ConfigError."""
    vertex_fake.endpoints[ENDPOINT] = ("", [DEPLOYED])
    backend = VertexVectorIndex(
        INDEX, ENDPOINT, DEPLOYED, api_endpoint=vertex_fake.address
    )
    try:
        with pytest.raises(ConfigError, match="no public domain"):
            backend.query([1.0, 0.0, 0.0, 0.0], k=1)
    finally:
        backend.close()
    assert vertex_fake.requests(FIND_NEIGHBORS) == []


def test_undeployed_index_id_is_a_config_error(
    vertex_fake: FakeVertex, fake_index: FakeIndex
) -> None:
    """A deployed index id the endpoint does not have raises ConfigError naming both."""
    vertex_fake.endpoints[ENDPOINT] = (vertex_fake.address, ["other_index"])
    backend = VertexVectorIndex(
        INDEX, ENDPOINT, DEPLOYED, api_endpoint=vertex_fake.address
    )
    try:
        with pytest.raises(ConfigError, match="no deployed index 'llmops_chunks_v1'"):
            backend.query([1.0, 0.0, 0.0, 0.0], k=1)
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("method", "code", "error"),
    [
        (UPSERT, grpc.StatusCode.RESOURCE_EXHAUSTED, TransientError),
        (UPSERT, grpc.StatusCode.UNAVAILABLE, TransientError),
        (UPSERT, grpc.StatusCode.INVALID_ARGUMENT, InputError),
        (UPSERT, grpc.StatusCode.FAILED_PRECONDITION, ConfigError),
        (REMOVE, grpc.StatusCode.UNAVAILABLE, TransientError),
        (FIND_NEIGHBORS, grpc.StatusCode.RESOURCE_EXHAUSTED, TransientError),
        (FIND_NEIGHBORS, grpc.StatusCode.UNAVAILABLE, TransientError),
        (FIND_NEIGHBORS, grpc.StatusCode.INVALID_ARGUMENT, InputError),
        (GET_INDEX, grpc.StatusCode.NOT_FOUND, ConfigError),
    ],
)
def test_status_codes_map_onto_the_error_family(
    vertex_fake: FakeVertex,
    vectors: VertexVectorIndex,
    method: str,
    code: grpc.StatusCode,
    error: type[Exception],
) -> None:
    """429 and 503 are transient, 400 bad input, precondition and 404 config errors."""
    message = f"server says {code.name.lower()}"
    vertex_fake.fail(method, code, message)

    with pytest.raises(error, match=message):
        if method == FIND_NEIGHBORS:
            vectors.query([1.0, 0.0, 0.0, 0.0], k=1)
        elif method == REMOVE:
            vectors.remove(["doc-1"])
        else:
            vectors.upsert([point(1)])


def test_bad_query_arguments_are_refused_before_any_request(
    vertex_fake: FakeVertex, vectors: VertexVectorIndex
) -> None:
    """k below 1, an empty vector or an empty restrict raise InputError upfront."""
    with pytest.raises(InputError, match="k must be at least 1"):
        vectors.query([1.0], k=0)
    with pytest.raises(InputError, match="query vector is empty"):
        vectors.query([], k=1)
    with pytest.raises(InputError, match="restrict 'use_case' has no values"):
        vectors.query([1.0], k=1, restricts={"use_case": []})
    with pytest.raises(InputError, match="must list its values"):
        vectors.query([1.0], k=1, restricts={"use_case": "support"})
    assert vertex_fake.calls == []


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("indexes/456", ENDPOINT, DEPLOYED), {}, "LLMOPS_VECTOR_INDEX"),
        (
            (INDEX, "projects/123/indexEndpoints/789", DEPLOYED),
            {},
            "LLMOPS_INDEX_ENDPOINT",
        ),
        (
            (INDEX, "projects/123/locations/us-central1/indexEndpoints/789", DEPLOYED),
            {},
            "same stack",
        ),
        ((INDEX, ENDPOINT, "1-bad-id"), {}, "LLMOPS_DEPLOYED_INDEX_ID"),
        ((INDEX, ENDPOINT, DEPLOYED), {"batch_size": 1001}, "between 1 and 1000"),
        ((INDEX, ENDPOINT, DEPLOYED), {"distance_measure": "COSINE"}, "one of"),
    ],
)
def test_constructor_refuses_malformed_configuration(
    args: tuple[str, str, str], kwargs: dict[str, object], match: str
) -> None:
    """Malformed names, ids, batch sizes or measures raise ConfigError naming them."""
    with pytest.raises(ConfigError, match=match):
        VertexVectorIndex(*args, **kwargs)  # type: ignore[arg-type]


def test_implements_the_vector_index_interface() -> None:
    """VertexVectorIndex satisfies VectorIndex and targets the regional admin host."""
    backend = VertexVectorIndex(INDEX, ENDPOINT, DEPLOYED)
    assert isinstance(backend, VectorIndex)
    assert backend.api_endpoint == "europe-west4-aiplatform.googleapis.com"


def test_from_settings_wires_index_endpoint_and_deployment(
    vertex_fake: FakeVertex, fake_index: FakeIndex
) -> None:
    """Settings from the environment give an index on their names and endpoint."""
    settings = Settings.from_env(
        {
            "LLMOPS_DOCS_BUCKET": "docs",
            "LLMOPS_CHUNKS_BUCKET": "chunks",
            "LLMOPS_BIGQUERY_DATASET": "llmops",
            "LLMOPS_PROJECT": "proj-1",
            "LLMOPS_LOCATION": "europe-west4",
            "LLMOPS_VECTOR_INDEX": INDEX,
            "LLMOPS_INDEX_ENDPOINT": ENDPOINT,
            "LLMOPS_DEPLOYED_INDEX_ID": DEPLOYED,
            "LLMOPS_VERTEX_ENDPOINT": vertex_fake.address,
        }
    )
    backend = VertexVectorIndex.from_settings(settings)
    try:
        backend.upsert([point(1)])
        (hit,) = backend.query([1.0, 0.0, 0.0, 0.0], k=1)
    finally:
        backend.close()

    assert hit.id == "doc-1"
    assert vertex_fake.requests(UPSERT)[0].index == INDEX
    assert vertex_fake.requests(FIND_NEIGHBORS)[0].deployed_index_id == DEPLOYED


def test_default_byte_cap_splits_gemini_sized_vectors(
    vertex_fake: FakeVertex,
) -> None:
    """700 datapoints of 3072 dimensions exceed 8 MiB and go out as two calls."""
    vertex_fake.indexes[INDEX] = FakeIndex(dimensions=3072)
    backend = VertexVectorIndex(
        INDEX, ENDPOINT, DEPLOYED, api_endpoint=vertex_fake.address
    )
    vector = [0.018] * 3072
    try:
        backend.upsert(
            [Datapoint(f"p{i}", vector, {"use_case": "x"}) for i in range(700)]
        )
    finally:
        backend.close()

    requests = vertex_fake.requests(UPSERT)
    assert [len(r.datapoints) for r in requests] == [680, 20]
    for request in requests:
        assert UpsertDatapointsRequest.pb(request).ByteSize() <= MAX_REQUEST_BYTES
