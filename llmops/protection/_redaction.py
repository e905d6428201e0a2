"""What a redactor finds and returns, and the info types the platform names.

Info-type names are Cloud DLP's, so that counts recorded by the offline
recognizers and by Cloud DLP land in the same ``pii_findings`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

EMAIL_ADDRESS = "EMAIL_ADDRESS"
PHONE_NUMBER = "PHONE_NUMBER"
CREDIT_CARD_NUMBER = "CREDIT_CARD_NUMBER"
IBAN_CODE = "IBAN_CODE"
IP_ADDRESS = "IP_ADDRESS"
# Not a built-in DLP info type: the inspect template declares it as a custom
# regex info type (see docs/data-protection.md).
URL_CREDENTIALS = "URL_CREDENTIALS"
US_SOCIAL_SECURITY_NUMBER = "US_SOCIAL_SECURITY_NUMBER"
FRANCE_NIR = "FRANCE_NIR"
ITALY_FISCAL_CODE = "ITALY_FISCAL_CODE"
SPAIN_DNI_NUMBER = "SPAIN_DNI_NUMBER"
BRAZIL_CPF_NUMBER = "BRAZIL_CPF_NUMBER"
PERSON_NAME = "PERSON_NAME"

NATIONAL_ID_TYPES = (
    US_SOCIAL_SECURITY_NUMBER,
    FRANCE_NIR,
    ITALY_FISCAL_CODE,
    SPAIN_DNI_NUMBER,
    BRAZIL_CPF_NUMBER,
)
# What the offline recognizers find without an optional name model.
OFFLINE_INFO_TYPES = (
    EMAIL_ADDRESS,
    PHONE_NUMBER,
    CREDIT_CARD_NUMBER,
    IBAN_CODE,
    IP_ADDRESS,
    URL_CREDENTIALS,
    *NATIONAL_ID_TYPES,
)


@dataclass(frozen=True, order=True)
class Finding:
    """One value of an info type found at ``text[start:end]``."""

    info_type: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(
                f"finding {self.info_type} spans {self.start}..{self.end}; "
                "start must be at least 0 and below end"
            )


@dataclass(frozen=True)
class Redaction:
    """Redacted text and how many values of each info type were replaced.

    ``findings`` holds counts only, never the values, so it can be logged and
    written to the ingestion-events row as it is.
    """

    text: str
    findings: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts = {k: int(v) for k, v in sorted(self.findings.items()) if v}
        object.__setattr__(self, "findings", MappingProxyType(counts))

    @property
    def total(self) -> int:
        """How many values were replaced, over every info type."""
        return sum(self.findings.values())

    def as_rows(self) -> list[dict[str, str | int]]:
        """The counts as ``pii_findings`` records of the ingestion-events table."""
        return [{"info_type": k, "count": n} for k, n in self.findings.items()]


class Redactor(Protocol):
    """Finds personal data in text and replaces it as a policy says."""

    def redact(self, text: str) -> Redaction:
        """Return the redacted text and the counts per info type."""
        ...
