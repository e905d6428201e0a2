"""The offline redactor over a seeded corpus of valid values and near-misses."""

from __future__ import annotations

import logging
import pydoc_data.topics
from collections import Counter
from types import SimpleNamespace

import pytest
from stdnum import luhn

from llmops.errors import ConfigError
from llmops.protection import (
    OFFLINE_INFO_TYPES,
    PERSON_NAME,
    Finding,
    OfflineRedactor,
    RedactionPolicy,
    SpacyNameRecognizer,
)

# Valid values of every info type the offline recognizers find, each written
# the way documents write them.
VALID: dict[str, list[str]] = {
    "EMAIL_ADDRESS": ["alice.smith@example.com", "Bob_O+news@mail.example.co.uk"],
    "PHONE_NUMBER": ["+44 20 7946 0958", "(415) 555-2671", "+33 1 42 68 53 00"],
    "CREDIT_CARD_NUMBER": [
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "378282246310005",
        "6011111111111117",
    ],
    "IBAN_CODE": [
        "GB82 WEST 1234 5698 7654 32",
        "DE89370400440532013000",
        "FR14 2004 1010 0505 0001 3M02 606",
    ],
    "IP_ADDRESS": ["192.168.10.20", "2001:db8::8a2e:370:7334", "8.8.4.4"],
    "URL_CREDENTIALS": ["deploy:hunter2"],
    "US_SOCIAL_SECURITY_NUMBER": ["536-22-1234"],
    "FRANCE_NIR": ["2 95 10 99 126 111 93"],
    "ITALY_FISCAL_CODE": ["RCCMNL83S18D969H"],
    "SPAIN_DNI_NUMBER": ["54362315K"],
    "BRAZIL_CPF_NUMBER": ["390.533.447-05"],
}

# Values that look like personal data but fail validation: left alone.
NEAR_MISSES = [
    "4111 1111 1111 1112",  # bad Luhn checksum
    "4" + "1" * 10 + luhn.calc_check_digit("4" + "1" * 10),  # 12 digits, Luhn-valid
    "9" + "1" * 14 + luhn.calc_check_digit("9" + "1" * 14),  # no issuer starts with 9
    "GB83 WEST 1234 5698 7654 32",  # IBAN check digits wrong
    "256.1.1.1",  # octet above 255
    "078-05-1120",  # an SSN never issued (the Woolworth wallet card)
    "666-12-3456",  # area 666 is never issued
    "RCCMNL83S18D969X",  # fiscal code check letter wrong
    "54362315Z",  # DNI check letter wrong
    "390.533.447-04",  # CPF check digits wrong
    "2 95 10 99 126 111 94",  # NIR key wrong
    "ops@localhost",  # no dotted domain
    "2147483647",  # a bare ten-digit integer, no phone context
    "555-0100",  # no area code
    "90 78 56 34 12",  # bytes of a buffer: valid digits, not a phone's grouping
    "3.10.0-862",  # a kernel release
]


def _corpus() -> str:
    lines = [f"Record {n}: {value} was on file." for n, value in enumerate(NEAR_MISSES)]
    for info_type, values in VALID.items():
        for value in values:
            if info_type == "URL_CREDENTIALS":
                value = f"https://{value}@db.internal.example.com:5432/app"
            lines.append(f"The {info_type.lower()} given was {value}, as stated.")
    return "\n".join(lines)


def test_corpus_covers_every_offline_type() -> None:
    """The seeded corpus holds at least one value of every offline info type."""
    assert set(VALID) == set(OFFLINE_INFO_TYPES)


def test_valid_values_are_gone_and_counted() -> None:
    """Every valid value is replaced and counted under its own info type."""
    redaction = OfflineRedactor().redact(_corpus())

    for values in VALID.values():
        for value in values:
            assert value not in redaction.text
    assert dict(redaction.findings) == {t: len(v) for t, v in VALID.items()}
    for info_type in VALID:
        assert f"[{info_type}]" in redaction.text


def test_near_misses_are_left_alone() -> None:
    """Values that fail validation stay in the text exactly as written."""
    redaction = OfflineRedactor().redact(_corpus())

    for value in NEAR_MISSES:
        assert f": {value} was on file." in redaction.text


def test_url_credentials_keep_the_link() -> None:
    """Only the user and password of a URL are replaced; host and path stay."""
    text = "Clone https://deploy:hunter2@git.example.com/repo.git now"

    redaction = OfflineRedactor().redact(text)

    assert (
        redaction.text == "Clone https://[URL_CREDENTIALS]@git.example.com/repo.git now"
    )
    assert dict(redaction.findings) == {"URL_CREDENTIALS": 1}


def test_bare_digits_are_a_phone_number_after_a_phone_word() -> None:
    """An unformatted number counts as a phone number when introduced as one."""
    text = "Phone: 4155552671. The build number of this release is 4155552671."

    redaction = OfflineRedactor().redact(text)

    assert redaction.text == text.replace("4155552671", "[PHONE_NUMBER]", 1)


def test_phone_region_reads_national_numbers() -> None:
    """National phone formats are read in the configured region only."""
    text = "Ring 020 7946 0958 before noon."

    assert OfflineRedactor(phone_region="GB").redact(text).findings == {
        "PHONE_NUMBER": 1
    }
    assert OfflineRedactor(phone_region="US").redact(text).text == text


def test_unknown_phone_region_is_refused() -> None:
    """A region phonenumbers does not know is a configuration error."""
    with pytest.raises(ConfigError, match="ZZ"):
        OfflineRedactor(phone_region="ZZ")


def test_actions_apply_per_info_type() -> None:
    """Each info type gets the action its policy entry names."""
    policy = RedactionPolicy.parse(
        "EMAIL_ADDRESS=hash,IP_ADDRESS=redact,*=mask", hash_key=b"s" * 32
    )
    text = "From ana@example.org at 10.1.2.3, card 4111111111111111."

    redacted = OfflineRedactor(policy).redact(text).text

    token = policy.replacement("EMAIL_ADDRESS", "ana@example.org")
    assert redacted == f"From {token} at , card [CREDIT_CARD_NUMBER]."


def test_a_name_model_plugs_in() -> None:
    """A spaCy-like pipeline adds PERSON_NAME findings, built-ins winning overlaps."""

    def pipeline(text: str) -> SimpleNamespace:
        start = text.index("Maria Rossi")
        ents = [
            SimpleNamespace(label_="PERSON", start_char=start, end_char=start + 11),
            SimpleNamespace(label_="ORG", start_char=0, end_char=4),
        ]
        return SimpleNamespace(ents=ents)

    redactor = OfflineRedactor(extra=[SpacyNameRecognizer(pipeline)])
    redaction = redactor.redact("Acme hired Maria Rossi (maria@example.it).")

    assert redaction.text == "Acme hired [PERSON_NAME] ([EMAIL_ADDRESS])."
    assert dict(redaction.findings) == {PERSON_NAME: 1, "EMAIL_ADDRESS": 1}


def test_missing_name_model_says_what_to_install() -> None:
    """Asking for a spaCy model that is not installed names it in the error."""
    with pytest.raises(ConfigError, match="en_core_web_sm"):
        SpacyNameRecognizer("en_core_web_sm")


def test_overlapping_findings_keep_the_first() -> None:
    """Where recognizers overlap, the more specific (listed first) wins."""
    policy = RedactionPolicy()
    text = "abcdefghij"

    redaction = policy.apply(
        text,
        [
            Finding("A", 2, 6),
            Finding("B", 4, 8),
            Finding("C", 0, 2),
            Finding("D", 8, 10),
        ],
    )

    assert redaction.text == "[C][A]gh[D]"
    assert dict(redaction.findings) == {"A": 1, "C": 1, "D": 1}


def test_reference_text_has_no_findings() -> None:
    """Python's language reference, full of numbers and code, yields no findings."""
    topics = pydoc_data.topics.topics
    findings = Counter(
        f.info_type for text in topics.values() for f in OfflineRedactor().find(text)
    )

    assert findings == Counter()


def test_whole_documents_find_exactly_the_seeded_values() -> None:
    """In the whole reference text plus the corpus, only the seeded values count."""
    text = "\n\n".join(pydoc_data.topics.topics.values())
    redaction = OfflineRedactor().redact(text + "\n" + _corpus())
    assert redaction.total == sum(len(v) for v in VALID.values())


def test_logs_hold_no_values(caplog: pytest.LogCaptureFixture) -> None:
    """Redaction logs counts and timings only, never a value it found."""
    caplog.set_level(logging.DEBUG, logger="llmops.protection")

    OfflineRedactor().redact(_corpus())

    assert caplog.records
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for values in VALID.values():
        for value in values:
            assert value not in logged


def test_ipv6_address_at_the_end_of_a_sentence_is_redacted() -> None:
    """An IPv6 address followed by a full stop is found, and the stop kept."""
    redaction = OfflineRedactor().redact("My ip is 2001:db8::8a2e:370:7334.")
    assert redaction.text == "My ip is [IP_ADDRESS]."
    assert dict(redaction.findings) == {"IP_ADDRESS": 1}
