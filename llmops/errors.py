"""The package's exception family.

Every message names the input, says what was wrong with it and what to do.
"""

from __future__ import annotations


class LlmopsError(Exception):
    """Base class of every error the platform raises on purpose."""


class ConfigError(LlmopsError):
    """A setting is missing or invalid; nothing was written."""


class InputError(LlmopsError):
    """A caller passed something the platform cannot use."""


class DocumentError(LlmopsError):
    """A document cannot be ingested as it is; retrying will not help.

    ``reason`` is a short, user-facing sentence stored in the ingestion-events
    row; it never contains document text.
    """

    def __init__(self, reason: str, *, status: str = "failed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class TransientError(LlmopsError):
    """A backend was temporarily unavailable (429, 503, a timeout).

    Event handlers let it propagate so that the platform redelivers the event.
    """


class ConflictError(LlmopsError):
    """A precondition failed because someone else wrote first."""


class CorruptObjectError(LlmopsError):
    """A stored object is not what the platform writes; nothing was changed."""


class NotFoundError(LlmopsError):
    """What was asked for does not exist."""
