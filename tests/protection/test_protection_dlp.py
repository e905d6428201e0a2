"""The Cloud DLP redactor, against a recording stand-in server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import grpc
import pytest
from google.cloud import dlp_v2

from llmops.errors import ConfigError, TransientError
from llmops.protection import (
    DEFAULT_MAX_REQUEST_BYTES,
    DlpRedactor,
    RedactionPolicy,
    deidentify_template_config,
)
from llmops.protection._dlp import pieces

if TYPE_CHECKING:
    from tests.protection.conftest import FakeDlp

INSPECT = "projects/acme/locations/europe-west1/inspectTemplates/llmops-pii"
DEIDENTIFY = "projects/acme/locations/europe-west1/deidentifyTemplates/llmops-pii"


def _redactor(fake: FakeDlp, **kwargs: object) -> DlpRedactor:
    options: dict[str, object] = {
        "project": "acme",
        "location": "europe-west1",
        "inspect_template": INSPECT,
        "deidentify_template": DEIDENTIFY,
        "retry": None,
        "timeout": 5.0,
    }
    options.update(kwargs)
    client = fake.client()
    return DlpRedactor(client, **options)  # type: ignore[arg-type]


def test_redacts_through_named_templates(fake_dlp: FakeDlp) -> None:
    """One short text goes out in one request naming both templates and parent."""
    redaction = _redactor(fake_dlp).redact("Write to ana@example.org today.")

    assert redaction.text == "Write to [EMAIL_ADDRESS] today."
    assert dict(redaction.findings) == {"EMAIL_ADDRESS": 1}
    (request,) = fake_dlp.requests
    assert request.parent == "projects/acme/locations/europe-west1"
    assert request.inspect_template_name == INSPECT
    assert request.deidentify_template_name == DEIDENTIFY


def test_long_text_is_batched_under_the_request_limit(fake_dlp: FakeDlp) -> None:
    """Text over the limit goes out in pieces, each request under it, rejoined."""
    line = "Contact user{n}@example.com about ticket {n}, thanks.\n"
    text = "".join(line.format(n=n) for n in range(40_000))
    assert len(text.encode()) > 3 * DEFAULT_MAX_REQUEST_BYTES

    redaction = _redactor(fake_dlp).redact(text)

    assert len(fake_dlp.requests) >= 4
    assert max(fake_dlp.request_bytes) <= DEFAULT_MAX_REQUEST_BYTES
    assert "".join(r.item.value for r in fake_dlp.requests) == text
    assert dict(redaction.findings) == {"EMAIL_ADDRESS": 40_000}
    assert "@example.com" not in redaction.text
    assert redaction.text.count("\n") == 40_000


def test_smaller_request_budget_gives_more_requests(fake_dlp: FakeDlp) -> None:
    """The configured request size bounds every request the client sends."""
    text = "word " * 20_000

    _redactor(fake_dlp, max_request_bytes=20_000).redact(text)

    assert len(fake_dlp.requests) >= 5
    assert max(fake_dlp.request_bytes) <= 20_000


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE]
)
def test_overload_is_transient(fake_dlp: FakeDlp, code: grpc.StatusCode) -> None:
    """429 (RESOURCE_EXHAUSTED) and 503 (UNAVAILABLE) become TransientError."""
    fake_dlp.failures.append(code)

    with pytest.raises(TransientError, match="request 1 of 1"):
        _redactor(fake_dlp).redact("ana@example.org")


def test_default_retry_rides_out_one_unavailable(fake_dlp: FakeDlp) -> None:
    """With the default short retry, one 503 is retried and the text redacted."""
    fake_dlp.failures.append(grpc.StatusCode.UNAVAILABLE)
    redactor = DlpRedactor(
        fake_dlp.client(),
        project="acme",
        location="europe-west1",
        inspect_template=INSPECT,
        deidentify_template=DEIDENTIFY,
    )

    assert redactor.redact("ana@example.org").text == "[EMAIL_ADDRESS]"
    assert len(fake_dlp.requests) == 2


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (grpc.StatusCode.NOT_FOUND, "infra provisions them"),
        (grpc.StatusCode.PERMISSION_DENIED, "roles/dlp.user"),
        (grpc.StatusCode.INVALID_ARGUMENT, "max_request_bytes"),
    ],
)
def test_configuration_failures_are_config_errors(
    fake_dlp: FakeDlp, code: grpc.StatusCode, hint: str
) -> None:
    """Missing templates, refused access and rejected requests say what to fix."""
    fake_dlp.failures.append(code)

    with pytest.raises(ConfigError, match=hint):
        _redactor(fake_dlp).redact("ana@example.org")


def test_empty_text_sends_nothing(fake_dlp: FakeDlp) -> None:
    """Empty text is returned as it is without a call to DLP."""
    assert _redactor(fake_dlp).redact("").text == ""
    assert fake_dlp.requests == []


@pytest.mark.parametrize(
    ("inspect", "deidentify"),
    [
        ("llmops-pii", DEIDENTIFY),
        (INSPECT, INSPECT),
        (DEIDENTIFY, DEIDENTIFY),
    ],
)
def test_template_names_are_checked(
    fake_dlp: FakeDlp, inspect: str, deidentify: str
) -> None:
    """A template name that is not the right kind of resource name is refused."""
    with pytest.raises(ConfigError, match="resource name"):
        _redactor(fake_dlp, inspect_template=inspect, deidentify_template=deidentify)


def test_request_budget_above_dlp_limit_is_refused(fake_dlp: FakeDlp) -> None:
    """A request budget over DLP's 0.5 MB limit is a configuration error."""
    with pytest.raises(ConfigError, match="max_request_bytes"):
        _redactor(fake_dlp, max_request_bytes=2_000_000)


@pytest.mark.parametrize("max_bytes", [16, 100, 1000])
def test_pieces_rejoin_and_fit(max_bytes: int) -> None:
    """Pieces join back to the text, each within the byte budget, cut at spaces."""
    text = ("Grüße aus Köln, 東京 und 🙂 " * 200) + "x" * 3000 + "\nend"

    parts = list(pieces(text, max_bytes))

    assert "".join(parts) == text
    assert all(len(p.encode()) <= max_bytes for p in parts)
    assert sum(p.endswith((" ", "\n")) for p in parts) >= len(parts) // 2


def test_template_config_follows_the_policy() -> None:
    """The de-identify config has one transformation per action, default last."""
    policy = RedactionPolicy.parse(
        "EMAIL_ADDRESS=hash,IP_ADDRESS=redact,PHONE_NUMBER=hash,*=mask",
        hash_key=b"k" * 32,
    )
    key = {"kmsWrapped": {"wrappedKey": "d3JhcHBlZA==", "cryptoKeyName": "k"}}

    config = deidentify_template_config(policy, crypto_key=key)

    transformations = config["infoTypeTransformations"]["transformations"]
    assert transformations == [
        {
            "infoTypes": [{"name": "IP_ADDRESS"}],
            "primitiveTransformation": {"redactConfig": {}},
        },
        {
            "infoTypes": [{"name": "EMAIL_ADDRESS"}, {"name": "PHONE_NUMBER"}],
            "primitiveTransformation": {"cryptoHashConfig": {"cryptoKey": key}},
        },
        {"primitiveTransformation": {"replaceWithInfoTypeConfig": {}}},
    ]
    # The REST shape is what the DLP types accept.
    dlp_v2.DeidentifyConfig.from_json(json.dumps(config))


def test_template_config_needs_a_key_to_hash() -> None:
    """A hashing policy without a crypto key cannot become a DLP template."""
    policy = RedactionPolicy.parse("EMAIL_ADDRESS=hash", hash_key=b"k" * 32)

    with pytest.raises(ConfigError, match="crypto key"):
        deidentify_template_config(policy)


def test_logs_hold_no_text(fake_dlp: FakeDlp, caplog: pytest.LogCaptureFixture) -> None:
    """The DLP redactor logs request and finding counts, never the text."""
    caplog.set_level(logging.DEBUG, logger="llmops.protection")

    _redactor(fake_dlp).redact("Write to ana@example.org today.")

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "requests=1" in logged
    assert "ana@example.org" not in logged
    assert "Write to" not in logged
