"""Text embeddings from Vertex AI publisher models, behind the ``Embedder`` face.

``VertexEmbedder.embed`` is one ``PredictionService.Predict`` call on
``projects/{project}/locations/{location}/publishers/google/models/{model}``.
Every instance carries its task type (``RETRIEVAL_DOCUMENT`` for chunks,
``RETRIEVAL_QUERY`` for questions) and the request sets ``autoTruncate`` to
false, so an input over the model's limit fails loudly instead of being
embedded from its first 2048 tokens only.

No tokenizer for these models can be run offline, so the embedder's
``tokenizer`` is ``ConservativeTokenCounter``: it over-counts on purpose, and a
chunk cut to N counted tokens stays under the model's real N.

This module also holds what the Vertex AI backends share: how a failed call
maps onto the platform's exceptions (``raise_for_call``) and how a client is
built for an endpoint (``vertex_client``).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import threading
import time
from collections.abc import Sequence
from typing import Any, NoReturn, TypeVar

import grpc
from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.cloud.aiplatform_v1 import (
    PredictionServiceClient,
    PredictRequest,
    PredictResponse,
)

from llmops import contract as c
from llmops.errors import ConfigError, InputError, TransientError
from llmops.settings import Settings

logger = logging.getLogger(__name__)

TASK_TYPES = {"document": "RETRIEVAL_DOCUMENT", "query": "RETRIEVAL_QUERY"}
DEFAULT_TIMEOUT_S = 60.0

# The channels the Google clients build lift gRPC's 4 MiB message limits; a
# plaintext channel gets the same options so that both behave alike.
_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]

ClientT = TypeVar("ClientT")


def default_api_endpoint(location: str) -> str:
    """The regional Vertex AI endpoint for ``location``."""
    return f"{location}-aiplatform.googleapis.com"


def is_plaintext_address(endpoint: str, *, any_ip: bool = False) -> bool:
    """Whether ``endpoint`` is dialled without TLS or credentials.

    Loopback addresses (``127.0.0.1:PORT``, ``localhost:PORT``, ``[::1]:PORT``)
    are emulators and test fakes. With ``any_ip``, any IP literal is too: a
    Vector Search private (PSC or peering) address inside the VPC speaks plain
    gRPC. Host names always get TLS and application-default credentials.
    """
    if endpoint.startswith("["):
        host = endpoint[1 : endpoint.find("]")]
    elif endpoint.count(":") == 1:
        host = endpoint.split(":", 1)[0]
    else:
        host = endpoint
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any_ip or address.is_loopback


def vertex_client(
    client_class: type[ClientT], endpoint: str, *, any_ip: bool = False
) -> ClientT:
    """Build a GAPIC client for ``endpoint``.

    A plaintext address (see ``is_plaintext_address``) gets an insecure
    channel and no credentials at all; anything else gets the client's own
    TLS channel with application-default credentials.
    """
    # Every GAPIC client class has get_transport_class; ClientT cannot say so.
    transport = client_class.get_transport_class("grpc")  # type: ignore[attr-defined]
    try:
        if is_plaintext_address(endpoint, any_ip=any_ip):
            channel = grpc.insecure_channel(endpoint, options=_CHANNEL_OPTIONS)
            return client_class(  # type: ignore[call-arg]
                transport=transport(channel=channel, host=endpoint)
            )
        return client_class(  # type: ignore[call-arg]
            client_options=ClientOptions(api_endpoint=endpoint)
        )
    except auth_exceptions.DefaultCredentialsError as exc:
        raise ConfigError(
            f"no Google credentials for {endpoint}: {exc}; run with a service "
            "account, or `gcloud auth application-default login` on a workstation"
        ) from None


# What a GAPIC call raises when the call itself fails (not a bug of ours).
CALL_ERRORS = (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError)


def raise_for_call(exc: Exception, *, what: str, fix: str) -> NoReturn:
    """Re-raise a failed Vertex AI call as the platform's exception.

    ``what`` names the call and its resource; ``fix`` says what a caller can
    change when the request itself was wrong. 429, 503, 500 and deadlines are
    ``TransientError`` (a retry later can succeed); 400 is ``InputError`` with
    the server's own message; permission, missing-resource and precondition
    failures are ``ConfigError``.
    """
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(
        exc,
        (
            api_exceptions.TooManyRequests,
            api_exceptions.ServiceUnavailable,
            api_exceptions.GatewayTimeout,
            api_exceptions.InternalServerError,
            api_exceptions.BadGateway,
            api_exceptions.Aborted,
            api_exceptions.Unknown,
            api_exceptions.RetryError,
            auth_exceptions.TransportError,
        ),
    ):
        raise TransientError(
            f"{what} failed for now ({type(exc).__name__}: {message}); retry later"
        ) from exc
    if isinstance(exc, api_exceptions.FailedPrecondition):
        raise ConfigError(
            f"{what} was refused, the resource is not in a state that allows it: "
            f"{message}"
        ) from exc
    if isinstance(exc, (api_exceptions.BadRequest, api_exceptions.Conflict)):
        raise InputError(f"{what} was rejected: {message}; {fix}") from exc
    if isinstance(exc, (api_exceptions.Unauthorized, api_exceptions.Forbidden)):
        raise ConfigError(
            f"{what} was not allowed: {message}; grant the service account the "
            "Vertex AI role this call needs"
        ) from exc
    if isinstance(exc, (api_exceptions.NotFound, api_exceptions.MethodNotImplemented)):
        raise ConfigError(
            f"{what} found nothing to call: {message}; check the project, "
            "location and resource names in the settings"
        ) from exc
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        raise ConfigError(f"{what} could not authenticate: {message}") from exc
    raise TransientError(
        f"{what} failed ({type(exc).__name__}: {message}); retry later"
    ) from exc


# Pre-tokenization for the conservative count: whitespace runs, runs of
# letters, and any other single character (digits included).
_PIECES = re.compile(r"(?P<space>\s+)|(?P<word>[^\W\d_]+)|(?P<other>.)", re.DOTALL)
# A run of letters is first cut where its case changes (camelCase and
# ALLCapsWord identifiers tokenize at those seams), then into spans of at most
# this many UTF-8 bytes.
_CASE_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[^A-Za-z]+")
_LETTER_SPAN_BYTES = 3


class ConservativeTokenCounter:
    """A token counter that over-counts for the Vertex AI embedding models.

    The models' tokenizers are not available offline, so this counts pieces
    that no real token is smaller than in practice:

    - a run of letters is cut where its case changes (``ZlibWrapper``,
      ``HTTPServer``), and each part counts one token per 3 UTF-8 bytes
      (three ASCII letters, one CJK character, one Cyrillic or Greek letter),
      where real subword vocabularies average four or more ASCII letters a
      token;
    - each digit is a token (the models' tokenizers split numbers digit by
      digit);
    - each other character counts one token per UTF-8 byte, which is what a
      byte-fallback tokenizer spends on a symbol it has no piece for;
    - a single space before a word is free (it joins the word's first piece);
      every other whitespace character is a token.

    The spans keep the shape a chunker reads boundaries from: no span covers
    whitespace, so paragraph and sentence breaks stay in the gaps between
    spans. A whitespace token is a zero-width span at the start of its run,
    and a character's extra byte tokens are zero-width spans at its end, so
    either one reads as part of the token before it.

    Measured in 512-token windows against a 30k-piece WordPiece vocabulary
    (which spends more tokens than the models' far larger ones), it counted
    at least as many in every window of Python's reference text, 300 man
    pages and 14 MB of Markdown (lowest ratio 1.00, medians 1.2 to 1.75).
    """

    # Limitation: a long run of letters that no vocabulary has pieces for
    # (random letters, some identifiers) can cost more than one real token per
    # three letters; autoTruncate is off, so such a chunk is refused with an
    # InputError instead of being embedded short, until a tokenizer for the
    # models can be run offline.

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of each counted token, in order.

        Offsets never decrease; zero-width spans stand for whitespace and
        byte-fallback tokens (see the class docstring).
        """
        spans: list[tuple[int, int]] = []
        for match in _PIECES.finditer(text):
            start, end = match.span()
            piece = match.group()
            if match.lastgroup == "space":
                if piece != " ":
                    spans.extend([(start, start)] * len(piece))
            elif match.lastgroup == "word":
                spans.extend(_letter_spans(piece, start))
            else:
                spans.append((start, end))
                spans.extend([(end, end)] * (len(piece.encode("utf-8")) - 1))
        return spans

    def count(self, text: str) -> int:
        """The counted tokens of ``text``: ``len(token_spans(text))``."""
        return len(self.token_spans(text))


def _letter_spans(run: str, offset: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for part in _CASE_PARTS.finditer(run):
        base = offset + part.start()
        start = used = 0
        for i, char in enumerate(part.group()):
            size = len(char.encode("utf-8"))
            if i > start and used + size > _LETTER_SPAN_BYTES:
                spans.append((base + start, base + i))
                start, used = i, 0
            used += size
        spans.append((base + start, offset + part.end()))
    return spans


class VertexEmbedder:
    """``Embedder`` on a Vertex AI publisher embedding model.

    Give ``client`` to reuse a ready ``PredictionServiceClient``; otherwise one
    is built on first use for ``api_endpoint`` (the regional endpoint unless
    given; a loopback address is dialled without TLS or credentials).
    """

    def __init__(
        self,
        project: str,
        location: str,
        model: str = "text-embedding-005",
        dimensions: int | None = None,
        *,
        api_endpoint: str | None = None,
        client: PredictionServiceClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not project or not location:
            raise ConfigError(
                f"the Vertex AI embedder needs a project and a location, got "
                f"project={project!r} location={location!r}; set "
                f"{c.ENV_PROJECT} and {c.ENV_LOCATION}"
            )
        spec = c.embedding_model(model)
        if spec.backend != "vertex":
            raise ConfigError(
                f"embedding model {model!r} is served by the {spec.backend!r} "
                "backend, not by Vertex AI; choose a Vertex AI model in "
                f"{c.ENV_EMBEDDING_MODEL}"
            )
        dimensions = spec.dimensions if dimensions is None else dimensions
        if dimensions != spec.dimensions and not (
            spec.reducible and 1 <= dimensions < spec.dimensions
        ):
            raise ConfigError(
                f"{c.ENV_EMBEDDING_DIMENSIONS}={dimensions} does not fit {model}, "
                f"which gives at most {spec.dimensions} dimensions; set "
                f"{c.ENV_EMBEDDING_DIMENSIONS} to {spec.dimensions} or fewer"
            )
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive seconds, got {timeout}")

        self.model: c.EmbeddingModel = spec
        self.dimensions: int = dimensions
        self.tokenizer = ConservativeTokenCounter()
        self.model_resource = (
            f"projects/{project}/locations/{location}/publishers/google/models/{model}"
        )
        self.api_endpoint = api_endpoint or default_api_endpoint(location)
        self._timeout = timeout
        self._client = client
        # A client given by the caller stays the caller's to close.
        self._owns_client = client is None
        self._client_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> VertexEmbedder:
        """The embedder the settings describe (model, dimensions, endpoint)."""
        if not settings.project or not settings.location:
            raise ConfigError(
                f"{c.ENV_PROJECT} and {c.ENV_LOCATION} must be set for the "
                "Vertex AI embedder"
            )
        return cls(
            settings.project,
            settings.location,
            settings.embedding_model.name,
            settings.embedding_dimensions,
            api_endpoint=settings.vertex_endpoint,
        )

    def client(self) -> PredictionServiceClient:
        """The prediction client, built on first use."""
        with self._client_lock:
            if self._client is None:
                self._client = vertex_client(PredictionServiceClient, self.api_endpoint)
            return self._client

    def close(self) -> None:
        """Close the channel the embedder opened; it opens a new one if used."""
        with self._client_lock:
            if self._client is not None and self._owns_client:
                self._client.transport.close()
                self._client = None

    def embed(self, texts: Sequence[str], *, task: str) -> list[list[float]]:
        """Embed ``texts`` in one request and return unit-length vectors.

        Raises InputError before any request when the batch is over the
        model's limits, TransientError when the service is busy or down, and
        ConfigError when its answer does not fit the configured model.
        """
        task_type = TASK_TYPES.get(task)
        if task_type is None:
            raise InputError(
                f"embedding task must be one of {', '.join(TASK_TYPES)}, got {task!r}"
            )
        if not texts:
            return []

        # Refuse what the service would refuse, before spending a request.
        tokens = self._check_request(texts)

        request = PredictRequest(
            endpoint=self.model_resource,
            parameters={
                "autoTruncate": False,
                "outputDimensionality": self.dimensions,
            },
        )
        request.instances.extend(
            {"content": text, "task_type": task_type} for text in texts
        )
        started = time.monotonic()
        try:
            response = self.client().predict(request=request, timeout=self._timeout)
        except CALL_ERRORS as exc:
            logger.warning(
                "embed.failed model=%s inputs=%d error=%s",
                self.model.name,
                len(texts),
                type(exc).__name__,
            )
            raise_for_call(
                exc,
                what=f"embedding {len(texts)} inputs with {self.model.name}",
                fix=(
                    f"keep each input within {self.model.max_input_tokens} tokens "
                    f"and each request within {self.model.max_tokens_per_request}"
                ),
            )

        # Read from the raw protobuf Values: proto-plus converts a list value
        # element by element, five times slower for a full batch.
        predictions = PredictResponse.pb(response).predictions
        vectors, billed = self._read_predictions(predictions, len(texts))
        logger.info(
            "embed.done model=%s task=%s inputs=%d counted_tokens=%d "
            "billed_tokens=%d ms=%d",
            self.model.name,
            task,
            len(texts),
            tokens,
            billed,
            (time.monotonic() - started) * 1000,
        )
        return vectors

    def _check_request(self, texts: Sequence[str]) -> int:
        model = self.model
        if len(texts) > model.max_batch:
            raise InputError(
                f"{model.name} takes at most {model.max_batch} input(s) per "
                f"request, got {len(texts)}; split the batch"
            )
        total = 0
        for i, text in enumerate(texts):
            if not text.strip():
                raise InputError(
                    f"input {i} of {len(texts)} is empty; drop empty chunks "
                    "before embedding"
                )
            counted = self.tokenizer.count(text)
            if counted > model.max_input_tokens:
                raise InputError(
                    f"input {i} counts {counted} tokens, over the "
                    f"{model.max_input_tokens} that {model.name} takes; cut "
                    "chunks with the embedder's tokenizer"
                )
            total += counted
        if total > model.max_tokens_per_request:
            raise InputError(
                f"{len(texts)} inputs count {total} tokens, over the "
                f"{model.max_tokens_per_request} that one {model.name} request "
                "takes; send fewer inputs per request"
            )
        return total

    def _read_predictions(
        self, predictions: Sequence[Any], expected: int
    ) -> tuple[list[list[float]], int]:
        what = f"{self.model.name} at {self.api_endpoint}"
        if len(predictions) != expected:
            raise ConfigError(
                f"{what} returned {len(predictions)} embeddings for {expected} "
                "inputs; check that the endpoint serves this model"
            )
        vectors: list[list[float]] = []
        billed = 0
        for i, prediction in enumerate(predictions):
            embeddings = prediction.struct_value.fields.get("embeddings")
            found = embeddings.struct_value.fields if embeddings is not None else {}
            if "values" not in found or not found["values"].HasField("list_value"):
                raise ConfigError(
                    f"{what} returned prediction {i} without embeddings.values; "
                    "check that the endpoint serves a text embedding model"
                )
            values = [v.number_value for v in found["values"].list_value.values]
            statistics = (
                found["statistics"].struct_value.fields if "statistics" in found else {}
            )
            if "truncated" in statistics and statistics["truncated"].bool_value:
                raise InputError(
                    f"{what} truncated input {i} although autoTruncate is off; "
                    f"keep inputs within {self.model.max_input_tokens} tokens"
                )
            if "token_count" in statistics:
                billed += int(statistics["token_count"].number_value)
            if len(values) != self.dimensions:
                raise ConfigError(
                    f"{what} returned {len(values)} dimensions for input {i}, "
                    f"expected {self.dimensions}; set {c.ENV_EMBEDDING_DIMENSIONS} "
                    "to what the model gives"
                )
            norm = math.sqrt(math.fsum(v * v for v in values))
            if not norm or not math.isfinite(norm):
                raise ConfigError(
                    f"{what} returned a vector of norm {norm} for input {i}; "
                    "it cannot be normalised"
                )
            vectors.append([v / norm for v in values])
        return vectors, billed
