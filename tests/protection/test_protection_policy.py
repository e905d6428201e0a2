"""The redaction policy: its config string, its actions and its hash tokens."""

from __future__ import annotations

import re

import pytest

from llmops.errors import ConfigError
from llmops.protection import Action, Finding, Redaction, RedactionPolicy

KEY = b"0123456789abcdef0123456789abcdef"


def test_parse_reads_actions_and_default() -> None:
    """Named types get their action; ``*`` sets the default for the rest."""
    policy = RedactionPolicy.parse(
        " EMAIL_ADDRESS=mask , PHONE_NUMBER=HASH,*=redact ", hash_key=KEY
    )

    assert policy.action("EMAIL_ADDRESS") is Action.MASK
    assert policy.action("PHONE_NUMBER") is Action.HASH
    assert policy.action("IP_ADDRESS") is Action.REDACT


def test_empty_policy_masks_everything() -> None:
    """With no entries every info type is masked with its name."""
    policy = RedactionPolicy.parse("")

    assert policy.replacement("IBAN_CODE", "DE89370400440532013000") == "[IBAN_CODE]"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("EMAIL_ADDRESS", "'EMAIL_ADDRESS' is not INFO_TYPE=action"),
        ("EMAIL_ADDRESS=", "'EMAIL_ADDRESS=' is not INFO_TYPE=action"),
        ("=mask", "'=mask' is not INFO_TYPE=action"),
        ("EMAIL_ADDRESS=scramble", "action 'scramble'; use one of redact, mask"),
        ("EMAIL=mask", "EMAIL is not an info type.*did you mean EMAIL_ADDRESS"),
        ("email_address=mask", "'email_address' is not an info type name"),
        ("IP_ADDRESS=mask,IP_ADDRESS=redact", "names IP_ADDRESS twice"),
    ],
)
def test_bad_entries_are_named(spec: str, message: str) -> None:
    """A bad entry raises ConfigError quoting the entry and what to write."""
    with pytest.raises(ConfigError, match=message):
        RedactionPolicy.parse(spec)


def test_other_dlp_types_are_allowed_when_asked() -> None:
    """With ``known=None`` any DLP-style name is accepted (for Cloud DLP)."""
    policy = RedactionPolicy.parse("PASSPORT=redact", known=None)

    assert policy.action("PASSPORT") is Action.REDACT


@pytest.mark.parametrize("key", [None, b"short"])
def test_hashing_needs_a_long_enough_key(key: bytes | None) -> None:
    """A policy that hashes without a key of 16 bytes or more is refused."""
    with pytest.raises(ConfigError, match="hash key"):
        RedactionPolicy.parse("*=hash", hash_key=key)


def test_hash_tokens_are_stable_and_keyed() -> None:
    """The same value gives the same token on every call; another key, another."""
    first = RedactionPolicy.parse("*=hash", hash_key=KEY)
    again = RedactionPolicy.parse("*=hash", hash_key=KEY.decode())
    other = RedactionPolicy.parse("*=hash", hash_key=b"another key of 16+ bytes")

    token = first.replacement("EMAIL_ADDRESS", "ana@example.org")

    assert re.fullmatch(r"\[EMAIL_ADDRESS:[0-9a-f]{16}\]", token)
    assert again.replacement("EMAIL_ADDRESS", "ana@example.org") == token
    assert other.replacement("EMAIL_ADDRESS", "ana@example.org") != token
    assert first.replacement("EMAIL_ADDRESS", "bo@example.org") != token


def test_hash_ignores_formatting() -> None:
    """Case of an address and separators in a number do not change the token."""
    policy = RedactionPolicy.parse("*=hash", hash_key=KEY)

    assert policy.replacement("EMAIL_ADDRESS", "Ana@Example.org") == (
        policy.replacement("EMAIL_ADDRESS", "ana@example.org")
    )
    assert policy.replacement("CREDIT_CARD_NUMBER", "4111 1111 1111 1111") == (
        policy.replacement("CREDIT_CARD_NUMBER", "4111-1111-1111-1111")
    )
    # The info type is part of what is hashed: equal digits, other types.
    assert (
        policy.replacement("PHONE_NUMBER", "5362212345")[-17:]
        != (policy.replacement("US_SOCIAL_SECURITY_NUMBER", "5362212345")[-17:])
    )


def test_hash_key_stays_out_of_repr() -> None:
    """The key never shows in the policy's repr (which may reach a log)."""
    policy = RedactionPolicy.parse("*=hash", hash_key=KEY)

    assert KEY.decode() not in repr(policy)


def test_apply_counts_without_values() -> None:
    """A redaction's findings hold counts per type, and its rows no values."""
    text = "a@b.co and c@d.co from 10.0.0.1"
    findings = [
        Finding("EMAIL_ADDRESS", 0, 6),
        Finding("EMAIL_ADDRESS", 11, 17),
        Finding("IP_ADDRESS", 23, 31),
    ]

    redaction = RedactionPolicy.parse("IP_ADDRESS=redact").apply(text, findings)

    assert redaction.text == "[EMAIL_ADDRESS] and [EMAIL_ADDRESS] from "
    assert redaction.as_rows() == [
        {"info_type": "EMAIL_ADDRESS", "count": 2},
        {"info_type": "IP_ADDRESS", "count": 1},
    ]
    assert redaction.total == 3


def test_finding_outside_text_is_refused() -> None:
    """A finding that ends past the text is a bug in a recognizer, not ignored."""
    with pytest.raises(ValueError, match="past the text"):
        RedactionPolicy().apply("short", [Finding("EMAIL_ADDRESS", 0, 9)])


def test_redaction_counts_are_read_only() -> None:
    """A redaction's counts cannot be changed after the fact, and zeros drop."""
    redaction = Redaction("x", {"EMAIL_ADDRESS": 1, "IP_ADDRESS": 0})

    assert dict(redaction.findings) == {"EMAIL_ADDRESS": 1}
    with pytest.raises(TypeError):
        redaction.findings["EMAIL_ADDRESS"] = 5  # type: ignore[index]
