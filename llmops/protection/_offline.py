"""Offline recognizers: personal data found without calling any service.

Each recognizer proposes candidates with a cheap regular expression and keeps
only those a well-kept library validates: ``phonenumbers`` for phone numbers
in a default region, ``python-stdnum`` for IBANs, payment-card Luhn checks and
national id numbers, the standard ``ipaddress`` module for IP addresses.
Near-misses (a bad checksum, a wrong length, an address octet above 255) are
left alone.

Person names are found only when a name model is plugged in
(:class:`SpacyNameRecognizer` or any :class:`Recognizer`); see
docs/data-protection.md for what the offline recognizers cannot find.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import phonenumbers
from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.es import dni
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.us import ssn

from llmops.errors import ConfigError
from llmops.protection._policy import RedactionPolicy
from llmops.protection._redaction import (
    BRAZIL_CPF_NUMBER,
    CREDIT_CARD_NUMBER,
    EMAIL_ADDRESS,
    FRANCE_NIR,
    IBAN_CODE,
    IP_ADDRESS,
    ITALY_FISCAL_CODE,
    PERSON_NAME,
    PHONE_NUMBER,
    SPAIN_DNI_NUMBER,
    URL_CREDENTIALS,
    US_SOCIAL_SECURITY_NUMBER,
    Finding,
    Redaction,
)

logger = logging.getLogger(__name__)

DEFAULT_PHONE_REGION = "US"


class Recognizer(Protocol):
    """Finds the values of some info types in text."""

    def find(self, text: str) -> Iterable[Finding]:
        """Yield every value found; overlapping findings are allowed."""
        ...


@dataclass(frozen=True)
class PatternRecognizer:
    """Candidates from a pattern, kept when ``valid`` accepts their text.

    The pattern's group ``v``, when it has one, is the value; otherwise the
    whole match is. With ``trim_groups``, a candidate that fails is tried again
    without its last space-separated group (a greedy pattern can take in the
    word that follows an IBAN).
    """

    info_type: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] | None = None
    trim_groups: bool = False

    def find(self, text: str) -> Iterator[Finding]:
        """Yield the validated candidates."""
        group = "v" if "v" in self.pattern.groupindex else 0
        for match in self.pattern.finditer(text):
            start, end = match.span(group)
            end = self._validated_end(text, start, end)
            if end is not None:
                yield Finding(self.info_type, start, end)

    def _validated_end(self, text: str, start: int, end: int) -> int | None:
        if self.valid is None:
            return end
        while True:
            if self.valid(text[start:end]):
                return end
            cut = text.rfind(" ", start, end) if self.trim_groups else -1
            if cut <= start:
                return None
            end = cut


# Card brands by issuer prefix and the lengths they issue; a Luhn-valid digit
# run outside these is a near-miss, not a card.
_CARD_BRANDS: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = tuple(
    (re.compile(prefix), frozenset(lengths))
    for prefix, lengths in (
        (r"4", (13, 16, 19)),  # Visa
        (r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)", (16,)),  # Mastercard
        (r"3[47]", (15,)),  # American Express
        (r"6(?:011|5|4[4-9])", (16, 19)),  # Discover
        (r"35(?:2[89]|[3-8]\d)", (16, 17, 18, 19)),  # JCB
        (r"3(?:0[0-5]|[689])", (14, 16, 19)),  # Diners Club
        (r"62", (16, 17, 18, 19)),  # UnionPay
    )
)


def _valid_card(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value)
    if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return False
    return any(
        prefix.match(digits) and len(digits) in lengths
        for prefix, lengths in _CARD_BRANDS
    )


def _valid_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _valid_ipv6(value: str) -> bool:
    # Limitation: addresses of fewer than three groups (::1, fe80::1) are not
    # found, since "::" and "::2" are everywhere in code (slices), until a
    # context rule tells code from prose.
    if sum(1 for group in re.split(r"[:.]", value) if group) < 3:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _valid_iban(value: str) -> bool:
    return bool(iban.is_valid(value))


# Patterns start with a character class and check what precedes it with a
# look-behind after it: a leading look-behind defeats the regex engine's scan
# for a first character and runs about three times slower on long documents.
EMAIL_LOCAL_PATTERN = re.compile(r"[A-Za-z0-9._%+-]{1,64}\Z")
EMAIL_DOMAIN_PATTERN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
# The user-info part of a URL that carries a password: scheme://user:pass@host.
URL_CREDENTIALS_PATTERN = re.compile(
    r"(?<=[A-Za-z0-9])://(?P<v>[^\s/?#@:\"'<>]+:[^\s/?#@\"'<>]+)@"
)


def builtin_recognizers(phone_region: str = DEFAULT_PHONE_REGION) -> list[Recognizer]:
    """The offline recognizers, most specific first (they win overlaps)."""
    digit_first, digits_end = r"\d(?<![\w.-]\d)", r"(?![\w-]|\.\d)"
    return [
        PatternRecognizer(URL_CREDENTIALS, URL_CREDENTIALS_PATTERN),
        EmailRecognizer(),
        PatternRecognizer(
            IBAN_CODE,
            re.compile(r"[A-Z](?<![\w-][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){11,30}(?![\w-])"),
            _valid_iban,
            trim_groups=True,
        ),
        PatternRecognizer(
            CREDIT_CARD_NUMBER,
            re.compile(r"\d(?<![\w-]\d)(?:[ -]?\d){12,18}(?![\w-])"),
            _valid_card,
        ),
        PatternRecognizer(
            US_SOCIAL_SECURITY_NUMBER,
            re.compile(digit_first + r"\d{2}-\d{2}-\d{4}" + digits_end),
            ssn.is_valid,
        ),
        PatternRecognizer(
            BRAZIL_CPF_NUMBER,
            re.compile(digit_first + r"\d{2}\.\d{3}\.\d{3}-\d{2}" + digits_end),
            cpf.is_valid,
        ),
        PatternRecognizer(
            FRANCE_NIR,
            re.compile(r"[12](?<![\w.-][12])(?: ?[0-9AB]){14}(?![\w-])"),
            nir.is_valid,
        ),
        PatternRecognizer(
            ITALY_FISCAL_CODE,
            re.compile(
                r"[A-Z](?<!\w[A-Z])[A-Z]{5}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}"
                r"[A-Z][0-9LMNP-V]{3}[A-Z](?!\w)"
            ),
            codicefiscale.is_valid,
        ),
        PatternRecognizer(
            SPAIN_DNI_NUMBER,
            re.compile(r"\d(?<![\w-]\d)\d{7}-?[A-Z](?!\w)"),
            dni.is_valid,
        ),
        PatternRecognizer(
            IP_ADDRESS,
            re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\w|\.\d)"),
            _valid_ipv4,
        ),
        PatternRecognizer(
            IP_ADDRESS,
            re.compile(
                # Ends on a hex digit, so a full stop after an address is not
                # taken for part of it.
                r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}"
                r"(?:[0-9A-Fa-f.]{0,14}[0-9A-Fa-f])?(?![\w:])"
            ),
            _valid_ipv6,
        ),
        PhoneRecognizer(phone_region),
    ]


class EmailRecognizer:
    """E-mail addresses, found from each ``@`` outwards."""

    def find(self, text: str) -> Iterator[Finding]:
        """Yield every address with a dotted domain (``user@localhost`` is not)."""
        at = text.find("@")
        while at != -1:
            local = EMAIL_LOCAL_PATTERN.search(text, max(0, at - 64), at)
            domain = EMAIL_DOMAIN_PATTERN.match(text, at + 1)
            if local and domain:
                start = local.start()
                # Dots and dashes cannot open the local part.
                while start < at and not text[start].isalnum():
                    start += 1
                if start < at:
                    yield Finding(EMAIL_ADDRESS, start, domain.end())
            at = text.find("@", at + 1)


# A bare run of digits is a phone number only with one of these words just
# before it; technical text is full of ten-digit integers.
# Limitation: the words are English until the phone region brings its own.
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms)\b"
)
_PHONE_CONTEXT_CHARS = 32


class PhoneRecognizer:
    """Phone numbers ``phonenumbers`` finds valid and grouped as their region does.

    Strict grouping keeps hex bytes (``90 78 56 34 12``) and release numbers
    (``3.10.0-862``) that parse as valid numbers out.

    Numbers written in international form (``+44 20 7946 0958``) are found
    whatever the region; national forms are read in ``region``.
    """

    def __init__(self, region: str = DEFAULT_PHONE_REGION) -> None:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(
                f"phone region {region!r} is not a region phonenumbers knows; "
                "give an ISO 3166 two-letter code such as US, GB or DE"
            )
        self.region = region

    def find(self, text: str) -> Iterator[Finding]:
        """Yield the valid phone numbers in ``text``."""
        # The matcher gives up after max_tries candidates; whole documents
        # have far more than its default.
        matcher = phonenumbers.PhoneNumberMatcher(
            text,
            self.region,
            leniency=phonenumbers.Leniency.STRICT_GROUPING,
            max_tries=sys.maxsize,
        )
        for match in matcher:
            raw = match.raw_string
            if raw.isdigit() and not _PHONE_CONTEXT.search(
                text, max(0, match.start - _PHONE_CONTEXT_CHARS), match.start
            ):
                continue
            yield Finding(PHONE_NUMBER, match.start, match.end)


class SpacyNameRecognizer:
    """Person names from a spaCy pipeline's named-entity recognizer.

    ``pipeline`` is a loaded pipeline (anything callable on text that returns
    a doc with ``ents`` carrying ``label_``, ``start_char`` and ``end_char``),
    or the name of an installed spaCy model package to load.
    """

    def __init__(self, pipeline: Any, labels: Sequence[str] = ("PERSON", "PER")):
        if isinstance(pipeline, str):
            pipeline = self._load(pipeline)
        self._nlp = pipeline
        self._labels = frozenset(labels)

    @staticmethod
    def _load(model: str) -> Any:
        try:
            import spacy  # type: ignore[import-not-found]
        except ImportError:
            raise ConfigError(
                f"person names need a spaCy model ({model!r}) but spaCy is not "
                "installed; install spacy and the model package, or leave "
                "PERSON_NAME to Cloud DLP"
            ) from None
        try:
            return spacy.load(model)
        except OSError:
            raise ConfigError(
                f"spaCy model {model!r} is not installed; install its package "
                "(it is not downloaded at run time)"
            ) from None

    def find(self, text: str) -> Iterator[Finding]:
        """Yield each entity the pipeline labels a person."""
        for ent in self._nlp(text).ents:
            if ent.label_ in self._labels and ent.end_char > ent.start_char:
                yield Finding(PERSON_NAME, ent.start_char, ent.end_char)


class OfflineRedactor:
    """Redacts with the offline recognizers, as a :class:`RedactionPolicy` says.

    ``extra`` recognizers (a name model, a custom pattern) run after the
    built-in ones, which win where findings overlap.
    """

    def __init__(
        self,
        policy: RedactionPolicy | None = None,
        *,
        phone_region: str = DEFAULT_PHONE_REGION,
        extra: Sequence[Recognizer] = (),
    ) -> None:
        self.policy = policy or RedactionPolicy()
        self._recognizers: list[Recognizer] = [
            *builtin_recognizers(phone_region),
            *extra,
        ]

    def find(self, text: str) -> list[Finding]:
        """Every finding, in recognizer order (overlaps not yet resolved)."""
        return [f for r in self._recognizers for f in r.find(text)]

    def redact(self, text: str) -> Redaction:
        """Return the redacted text and the counts per info type."""
        started = time.perf_counter()
        redaction = self.policy.apply(text, self.find(text))
        logger.debug(
            "protection.redact backend=offline chars=%d findings=%d ms=%.1f",
            len(text),
            redaction.total,
            (time.perf_counter() - started) * 1000,
        )
        return redaction
