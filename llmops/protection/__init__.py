"""Data protection and guardrails: redact personal data, flag injected text.

The ingestion pipeline and interaction logging call a :class:`Redactor`
(:class:`OfflineRedactor` on the embedded default, :class:`DlpRedactor` in the
cloud) before text is chunked or a row is written, and record the counts of
:class:`Redaction.findings`, never the values. :class:`InjectionDetector`
gives the guardrail flags stored with chunks and interactions;
:func:`read_safety` reads a Gemini response's safety ratings for the logger.
See docs/data-protection.md.
"""

from llmops.protection._dlp import (
    DEFAULT_MAX_REQUEST_BYTES,
    DLP_REQUEST_LIMIT_BYTES,
    DlpRedactor,
    deidentify_template_config,
)
from llmops.protection._injection import (
    HIDDEN_TEXT,
    PROMPT_INJECTION,
    RULES,
    Assessment,
    InjectionDetector,
    Rule,
)
from llmops.protection._offline import (
    DEFAULT_PHONE_REGION,
    OfflineRedactor,
    PatternRecognizer,
    PhoneRecognizer,
    Recognizer,
    SpacyNameRecognizer,
)
from llmops.protection._policy import KNOWN_INFO_TYPES, Action, RedactionPolicy
from llmops.protection._redaction import (
    NATIONAL_ID_TYPES,
    OFFLINE_INFO_TYPES,
    PERSON_NAME,
    Finding,
    Redaction,
    Redactor,
)
from llmops.protection.safety import (
    PROMPT_BLOCKED,
    RESPONSE_BLOCKED,
    SAFETY_FINISH_REASONS,
    SafetyCapture,
    read_safety,
)

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_PHONE_REGION",
    "DLP_REQUEST_LIMIT_BYTES",
    "HIDDEN_TEXT",
    "KNOWN_INFO_TYPES",
    "NATIONAL_ID_TYPES",
    "OFFLINE_INFO_TYPES",
    "PERSON_NAME",
    "PROMPT_BLOCKED",
    "PROMPT_INJECTION",
    "RESPONSE_BLOCKED",
    "RULES",
    "SAFETY_FINISH_REASONS",
    "Action",
    "Assessment",
    "DlpRedactor",
    "Finding",
    "InjectionDetector",
    "OfflineRedactor",
    "PatternRecognizer",
    "PhoneRecognizer",
    "Recognizer",
    "Redaction",
    "RedactionPolicy",
    "Redactor",
    "Rule",
    "SafetyCapture",
    "SpacyNameRecognizer",
    "deidentify_template_config",
    "read_safety",
]
