"""Cloud DLP de-identification: the cloud redactor.

The inspect template says which info types to look for and the de-identify
template what to put in their place; infra provisions both (from
:func:`deidentify_template_config` for the policy the stack configures) and
this module only names them. ``content.deidentify`` accepts requests of at
most 0.5 MB, so long text goes out in pieces cut at line or word boundaries,
each request kept under :data:`DEFAULT_MAX_REQUEST_BYTES` in all.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from google.api_core import exceptions as core_exceptions
from google.api_core import retry as retries
from google.cloud import dlp_v2

from llmops.errors import ConfigError, TransientError
from llmops.protection._policy import Action, RedactionPolicy
from llmops.protection._redaction import Redaction

logger = logging.getLogger(__name__)

# DLP's documented limit for content methods is 0.5 MB per request; stay a
# little below it so the request's own fields and framing fit too.
DLP_REQUEST_LIMIT_BYTES = 512 * 1024
DEFAULT_MAX_REQUEST_BYTES = 500_000
# Left for the request's fields besides the text, on top of their measured size.
_REQUEST_MARGIN_BYTES = 256

# Short, so that a struggling DLP turns into a redelivered event rather than a
# function that waits out the client's own five-minute default.
DEFAULT_RETRY = retries.Retry(
    initial=0.2,
    maximum=2.0,
    multiplier=2.0,
    timeout=10.0,
    predicate=retries.if_exception_type(
        core_exceptions.ServiceUnavailable,
        core_exceptions.TooManyRequests,
        core_exceptions.DeadlineExceeded,
    ),
)
DEFAULT_TIMEOUT_S = 60.0

_TEMPLATE_NAME = re.compile(
    r"(?:projects|organizations)/[^/]+/(?:locations/[^/]+/)?"
    r"(?P<kind>inspectTemplates|deidentifyTemplates)/[^/]+\Z"
)
_TRANSIENT = (
    core_exceptions.TooManyRequests,
    core_exceptions.ServiceUnavailable,
    core_exceptions.DeadlineExceeded,
    core_exceptions.InternalServerError,
)


def _template(name: str, kind: str, setting: str) -> str:
    match = _TEMPLATE_NAME.match(name.strip())
    if not match or match["kind"] != kind:
        raise ConfigError(
            f"{setting} {name!r} is not a DLP {kind[:-1]} resource name; give "
            f"projects/PROJECT/locations/LOCATION/{kind}/ID as infra outputs it"
        )
    return name.strip()


def pieces(text: str, max_bytes: int) -> Iterator[str]:
    """Cut ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes.

    A cut falls after the last line break that fits, else after the last
    space, so a value is split only inside a run of ``max_bytes`` without
    either. Joined, the pieces give back ``text``.
    """
    if max_bytes < 4:
        raise ValueError(f"max_bytes must be at least 4, got {max_bytes}")
    start = 0
    while start < len(text):
        # max_bytes characters take at least max_bytes bytes.
        window = text[start : start + max_bytes]
        encoded = window.encode("utf-8")
        if len(encoded) <= max_bytes:
            if start + len(window) >= len(text):
                yield window
                return
            end = len(window)
        else:
            end = len(encoded[:max_bytes].decode("utf-8", errors="ignore"))
        cut = window.rfind("\n", 0, end) + 1 or window.rfind(" ", 0, end) + 1
        if cut <= 0:
            cut = end
        yield window[:cut]
        start += cut


class DlpRedactor:
    """Redacts through Cloud DLP ``deidentify_content`` with named templates."""

    def __init__(
        self,
        client: dlp_v2.DlpServiceClient,
        *,
        project: str,
        location: str,
        inspect_template: str,
        deidentify_template: str,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        retry: retries.Retry | None = DEFAULT_RETRY,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not project or not location:
            raise ConfigError(
                "the DLP redactor needs the project and location its templates "
                "live in; set both"
            )
        self._client = client
        self.parent = f"projects/{project}/locations/{location}"
        self.inspect_template = _template(
            inspect_template, "inspectTemplates", "inspect template"
        )
        self.deidentify_template = _template(
            deidentify_template, "deidentifyTemplates", "de-identify template"
        )
        self._retry = retry
        self._timeout = timeout

        overhead = len(dlp_v2.DeidentifyContentRequest.serialize(self._request("")))
        self.max_text_bytes = max_request_bytes - overhead - _REQUEST_MARGIN_BYTES
        if max_request_bytes > DLP_REQUEST_LIMIT_BYTES or self.max_text_bytes < 1024:
            raise ConfigError(
                f"max_request_bytes must leave room for text under DLP's "
                f"{DLP_REQUEST_LIMIT_BYTES}-byte request limit, got "
                f"{max_request_bytes}; use about {DEFAULT_MAX_REQUEST_BYTES}"
            )

    @staticmethod
    def client(
        api_endpoint: str | None = None, *, insecure: bool = False
    ) -> dlp_v2.DlpServiceClient:
        """A DLP client, on ``api_endpoint`` when given.

        ``insecure`` opens a plaintext channel without credentials, for a
        local stand-in server only; the cloud path uses the default
        credentials over TLS.
        """
        if not insecure:
            options = {"api_endpoint": api_endpoint} if api_endpoint else None
            return dlp_v2.DlpServiceClient(client_options=options)
        if not api_endpoint:
            raise ConfigError(
                "an insecure DLP client needs api_endpoint (host:port of a "
                "local server)"
            )
        import grpc
        from google.cloud.dlp_v2.services.dlp_service.transports import (
            DlpServiceGrpcTransport,
        )

        channel = grpc.insecure_channel(api_endpoint)
        return dlp_v2.DlpServiceClient(
            transport=DlpServiceGrpcTransport(channel=channel)
        )

    def _request(self, text: str) -> dlp_v2.DeidentifyContentRequest:
        return dlp_v2.DeidentifyContentRequest(
            parent=self.parent,
            inspect_template_name=self.inspect_template,
            deidentify_template_name=self.deidentify_template,
            item=dlp_v2.ContentItem(value=text),
        )

    def redact(self, text: str) -> Redaction:
        """Return the de-identified text and DLP's counts per info type."""
        if not text:
            return Redaction(text, {})
        started = time.perf_counter()
        out: list[str] = []
        counts: Counter[str] = Counter()

        parts = list(pieces(text, self.max_text_bytes))
        for number, piece in enumerate(parts, start=1):
            response = self._call(piece, number, len(parts))
            out.append(response.item.value)
            for summary in response.overview.transformation_summaries:
                counts[summary.info_type.name] += sum(
                    result.count
                    for result in summary.results
                    if result.code
                    == dlp_v2.TransformationSummary.TransformationResultCode.SUCCESS
                )

        redaction = Redaction("".join(out), counts)
        logger.info(
            "protection.redact backend=dlp chars=%d requests=%d findings=%d ms=%.1f",
            len(text),
            len(parts),
            redaction.total,
            (time.perf_counter() - started) * 1000,
        )
        return redaction

    def _call(
        self, piece: str, number: int, total: int
    ) -> dlp_v2.DeidentifyContentResponse:
        where = f"request {number} of {total} to Cloud DLP ({self.parent})"
        try:
            return self._client.deidentify_content(
                request=self._request(piece), retry=self._retry, timeout=self._timeout
            )
        except (*_TRANSIENT, core_exceptions.RetryError) as error:
            raise TransientError(
                f"{where} failed for now ({_status(error)}); the work is retried "
                "when the event is redelivered"
            ) from error
        except core_exceptions.NotFound as error:
            raise ConfigError(
                f"{where}: a template was not found ({error.message}); check that "
                f"{self.inspect_template} and {self.deidentify_template} exist "
                "(infra provisions them)"
            ) from error
        except (
            core_exceptions.PermissionDenied,
            core_exceptions.Unauthenticated,
        ) as error:
            raise ConfigError(
                f"{where} was refused ({_status(error)}); grant the function's "
                "service account roles/dlp.user and read access to the templates"
            ) from error
        except core_exceptions.InvalidArgument as error:
            raise ConfigError(
                f"{where} was rejected as invalid ({error.message}); check the "
                "templates, or lower max_request_bytes if the request was too large"
            ) from error


def _status(error: Exception) -> str:
    if isinstance(error, core_exceptions.RetryError) and error.cause is not None:
        error = error.cause
    code = getattr(error, "code", None)
    return f"HTTP {int(code)}" if code is not None else type(error).__name__


_DLP_ACTIONS: Mapping[Action, dict[str, Any]] = {
    Action.MASK: {"replaceWithInfoTypeConfig": {}},
    Action.REDACT: {"redactConfig": {}},
}


def deidentify_template_config(
    policy: RedactionPolicy, crypto_key: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``deidentifyConfig`` (REST field names) that carries out ``policy``.

    One transformation per action for the info types the policy names, then
    one without info types for the rest (the policy's default). ``hash``
    becomes DLP's ``cryptoHashConfig`` with ``crypto_key`` (a REST
    ``CryptoKey``, normally ``kmsWrapped``), required when the policy hashes.
    """
    hashing = policy.default is Action.HASH or Action.HASH in policy.actions.values()
    if hashing and not crypto_key:
        raise ConfigError(
            "the redaction policy hashes values, so the DLP de-identify "
            "template needs a crypto key; pass a kmsWrapped CryptoKey"
        )

    def primitive(action: Action) -> dict[str, Any]:
        if action is Action.HASH:
            return {"cryptoHashConfig": {"cryptoKey": dict(crypto_key or {})}}
        return dict(_DLP_ACTIONS[action])

    transformations: list[dict[str, Any]] = []
    for action in Action:
        named = sorted(t for t, a in policy.actions.items() if a is action)
        if named:
            transformations.append(
                {
                    "infoTypes": [{"name": name} for name in named],
                    "primitiveTransformation": primitive(action),
                }
            )
    transformations.append({"primitiveTransformation": primitive(policy.default)})
    return {"infoTypeTransformations": {"transformations": transformations}}
