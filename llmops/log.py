"""Structured logging: JSON lines with Cloud Logging keys, or readable text.

Records carry an event name as their message and their data in
``extra={"fields": {...}}``. In functions, ``configure("json")`` writes one
JSON object per line to stdout, which Cloud Logging parses (``severity``,
``message``, ``time`` and the fields as the structured payload).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(getattr(record, "fields", None) or {})
    for key, value in record.__dict__.items():
        if key not in _RESERVED and key != "fields":
            fields[key] = value
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record, keyed as Cloud Logging expects."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``event key=value ...``: for terminals."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [record.getMessage()]
        parts += [f"{k}={v}" for k, v in _fields(record).items() if v is not None]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(style: str = "json", level: int = logging.INFO) -> None:
    """Send the package's records to stdout in ``style`` (json or text)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if style == "json" else TextFormatter())
    root = logging.getLogger("llmops")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
