"""Interaction and feedback logging: batched, retried, never dropped silently.

``InteractionLogger.log_interaction`` records one model call (prompt, template
version, model, response, latency, sizes, safety attributes, guardrails,
retrieved chunks, conversation and turn, a pseudonymous user id) and returns
its interaction id; ``log_feedback`` records a thumbs, a rating, a comment, a
corrected response or a preference between two responses against that id.

Rows wait in a buffer and go out in batches. A batch that meets a
``TransientError`` is tried again with backoff. When the table rejects a
batch, each of its rows is tried on its own, so the good rows land and each
bad one is reported with its reason and appended to the dead-letter file
(JSON lines), as are rows still failing after the last retry. In
metrics-only mode no prompt, response or feedback text is stored, only
sizes, scores and flags.

With a ``redactor`` (``llmops.protection``), every text field (prompt,
response, feedback comment, corrected response, both preference candidates)
is redacted when it is logged, before a row is built, so neither the table,
the dead-letter file nor a log line sees the raw values; sentiment is scored
on redacted text too. When the redactor fails, the row is kept without its
text and flagged ``redaction_failed``. With a ``detector``, the user's input
(else the prompt) is scanned and its flags join the interaction's guardrails.
See docs/data-protection.md.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import math
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from llmops import contract as c
from llmops.backends.base import TableStore
from llmops.errors import ConfigError, InputError, TransientError
from llmops.monitoring.pseudonyms import check_key, pseudonym
from llmops.monitoring.sentiment import SentimentScorer, VaderSentiment
from llmops.prompts.template import RenderedPrompt

if TYPE_CHECKING:
    # Types only: llmops.protection imports this module (safety capture).
    from llmops.protection import Redactor

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 50
DEFAULT_MAX_DELAY_SECONDS = 5.0
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 0.2

# Guardrail flags the logger itself raises: values were replaced in the row's
# text, or the redactor failed and the row keeps no text.
PII_REDACTED = "pii_redacted"
REDACTION_FAILED = "redaction_failed"

# Gemini's HarmProbability names, as a safety rating's ``probability`` holds them.
HARM_PROBABILITIES = (
    "HARM_PROBABILITY_UNSPECIFIED",
    "NEGLIGIBLE",
    "LOW",
    "MEDIUM",
    "HIGH",
)
# The largest whole number an INTEGER column holds (BigQuery's INT64).
INT64_MAX = 2**63 - 1
_LISTS = (list, tuple, set, frozenset)
_ATTRIBUTE_KEYS = ("category", "probability", "score", "blocked")

# One analyser for every logger: its lexicon loads once, on first use.
_SENTIMENT = VaderSentiment()

# Loggers still holding rows when the interpreter exits are flushed then.
_open_loggers: weakref.WeakSet[InteractionLogger] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for open_logger in list(_open_loggers):
        try:
            open_logger.flush()
        except Exception:
            logger.exception("monitoring.exit_flush_failed")


class GuardrailScanner(Protocol):
    """Flags text that carries, for example, prompt-injection patterns."""

    def scan(self, text: str, *, html: str | None = None) -> list[str]: ...


@dataclass(frozen=True)
class SafetyAttribute:
    """A model's safety rating for one harm category."""

    category: str
    probability: str | None = None
    score: float | None = None
    blocked: bool = False

    def to_row(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "probability": self.probability,
            "score": self.score,
            "blocked": self.blocked,
        }


@dataclass(frozen=True)
class RejectedRow:
    """A row the table did not take, and why."""

    table: str
    row: Mapping[str, Any]
    reason: str


@dataclass
class FlushResult:
    """What one flush wrote, and what it could not."""

    inserted: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


def _utc(value: object, name: str) -> str:
    if value is not None and not isinstance(value, dt.datetime):
        raise InputError(
            f"{name} must be a datetime, got {type(value).__name__} {value!r:.40}; "
            "pass a timezone-aware datetime such as datetime.now(UTC), or leave it "
            "out for now"
        )
    moment = value or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise InputError(
            f"{name} {moment.isoformat()} has no timezone; pass an aware datetime (UTC)"
        )
    return moment.astimezone(dt.UTC).isoformat()


def _attributes(values: object) -> list[dict[str, Any]]:
    """The safety attributes as row records; refuse any no row should hold."""
    if values is None:
        return []
    if not isinstance(values, _LISTS):
        raise InputError(
            f"safety_attributes must be a list of SafetyAttribute (or dicts with "
            f"{', '.join(_ATTRIBUTE_KEYS)}), got {type(values).__name__} "
            f"{values!r:.40}"
        )
    rows = []
    for position, value in enumerate(values):
        where = f"safety_attributes[{position}]"
        if isinstance(value, SafetyAttribute):
            row = value.to_row()
        elif isinstance(value, Mapping):
            unknown = sorted(str(key) for key in value if key not in _ATTRIBUTE_KEYS)
            if unknown:
                raise InputError(
                    f"{where} has unknown keys {', '.join(unknown)}; a safety "
                    f"attribute has {', '.join(_ATTRIBUTE_KEYS)}"
                )
            row = {key: value.get(key) for key in _ATTRIBUTE_KEYS}
        else:
            raise InputError(
                f"{where} must be a SafetyAttribute or a dict with "
                f"{', '.join(_ATTRIBUTE_KEYS)}, got {type(value).__name__} "
                f"{value!r:.40}"
            )
        _check_attribute(row, where)
        rows.append(row)
    return rows


def _check_attribute(row: Mapping[str, Any], where: str) -> None:
    category, probability = row["category"], row["probability"]
    score, blocked = row["score"], row["blocked"]
    if not isinstance(category, str) or not category.strip():
        raise InputError(
            f"{where}.category must name the harm category (such as "
            f"HARM_CATEGORY_HARASSMENT), got {category!r:.40}"
        )
    if probability is not None and probability not in HARM_PROBABILITIES:
        raise InputError(
            f"{where}.probability must be one of {', '.join(HARM_PROBABILITIES)} "
            f"(Gemini's HarmProbability), or None, got {probability!r:.40}"
        )
    if score is not None and (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not 0 <= score <= 1
    ):
        raise InputError(
            f"{where}.score must be a number from 0 to 1 (the probability score), "
            f"or None, got {score!r:.40}"
        )
    if blocked is not None and not isinstance(blocked, bool):
        raise InputError(f"{where}.blocked must be True or False, got {blocked!r:.40}")


class InteractionLogger:
    """Writes interaction and feedback rows for one use case.

    ``pseudonym_key`` turns user ids into keyed hashes (never stored raw).
    ``dead_letter_path`` receives every row that could not be written.
    ``redactor`` replaces personal data in every text field before a row is
    built; ``detector`` adds its flags to each interaction's guardrails.
    ``sleep`` is how the logger waits between retries (tests pass a fake).
    """

    def __init__(
        self,
        tables: TableStore,
        *,
        use_case: str,
        pseudonym_key: bytes,
        dead_letter_path: Path | str,
        metrics_only: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_delay_seconds: float = DEFAULT_MAX_DELAY_SECONDS,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        sentiment: SentimentScorer | None = None,
        redactor: Redactor | None = None,
        detector: GuardrailScanner | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(use_case, str) or not c.USE_CASE_NAME.fullmatch(use_case):
            raise ConfigError(
                f"use_case {use_case!r} is not a use-case name; name the use case "
                f"the rows belong to with {c.USE_CASE_RULE}"
            )
        if batch_size < 1 or attempts < 1:
            raise ConfigError(
                f"batch_size and attempts must be at least 1, got {batch_size} "
                f"and {attempts}"
            )
        self._tables = tables
        self.use_case = use_case
        self._key = check_key(pseudonym_key)
        self.dead_letter_path = Path(dead_letter_path)
        # A rejected row must always have somewhere to go: check it now.
        try:
            folder = self.dead_letter_path.parent
            folder.mkdir(parents=True, exist_ok=True)
            target = self.dead_letter_path if self.dead_letter_path.exists() else folder
            if not os.access(target, os.W_OK):
                raise PermissionError(13, "not writable")
        except OSError as error:
            raise ConfigError(
                f"dead-letter file {self.dead_letter_path} cannot be written "
                f"({error.strerror or error}); give a dead_letter_path in a "
                "writable folder"
            ) from None
        self.metrics_only = metrics_only
        self._batch_size = batch_size
        self._max_delay = max_delay_seconds
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._sentiment = sentiment if sentiment is not None else _SENTIMENT
        self._redactor = redactor
        self._detector = detector
        self._sleep = sleep
        self._clock = clock
        self._buffers: dict[str, list[dict[str, Any]]] = {
            c.TABLE_INTERACTIONS: [],
            c.TABLE_FEEDBACK: [],
        }
        self._oldest: float | None = None
        self._lock = threading.RLock()
        self.rejected: list[RejectedRow] = []
        _open_loggers.add(self)

    # -- Recording -------------------------------------------------------------

    def log_interaction(
        self,
        *,
        prompt: str | RenderedPrompt,
        response: str,
        model_name: str,
        model_version: str | None = None,
        template_name: str | None = None,
        template_version: int | None = None,
        template_label: str | None = None,
        latency_ms: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        safety_attributes: Sequence[SafetyAttribute | Mapping[str, Any]] | None = None,
        blocked: bool | None = None,
        guardrails: Sequence[str] | None = None,
        retrieved_chunk_ids: Sequence[str] | None = None,
        conversation_id: str | None = None,
        turn: int | None = None,
        user_id: str | None = None,
        user_input: str | None = None,
        request_time: dt.datetime | None = None,
        interaction_id: str | None = None,
    ) -> str:
        """Buffer one interaction row and return its interaction id.

        ``prompt`` is the text sent to the model, or the ``RenderedPrompt``
        it came from, whose template name, version and label then fill in
        those not given. Sentiment is scored on ``user_input`` when given
        (what the user typed), else on the full prompt. ``input_chars`` and
        ``output_chars`` are the sizes of the text as given, before redaction.
        """
        if isinstance(prompt, RenderedPrompt):
            template_name = template_name or prompt.name
            if template_version is None:
                template_version = prompt.version
            template_label = template_label or prompt.label
            prompt = prompt.text
        _check_interaction(
            prompt=prompt,
            response=response,
            model_name=model_name,
            latency_ms=latency_ms,
            counts={
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "turn": turn,
                "template_version": template_version,
            },
            lists={
                "guardrails": guardrails,
                "retrieved_chunk_ids": retrieved_chunk_ids,
            },
            user_id=user_id,
        )
        attributes = _attributes(safety_attributes)
        when = _utc(request_time, "request_time")
        if blocked is None:
            blocked = any(bool(a.get("blocked")) for a in attributes)
        identifier = interaction_id or uuid.uuid4().hex
        typed = user_input if user_input is not None else prompt
        flags = set(guardrails or ())
        if self._detector is not None:
            flags.update(self._detector.scan(typed))

        # Redact before anything is built from the text: the row, the
        # sentiment scorer's input, and so the dead-letter file and log lines.
        texts = {} if self.metrics_only else {"prompt": prompt, "response": response}
        if user_input is not None or self.metrics_only:
            texts["user_input"] = typed
        safe, raised = self._protect(c.TABLE_INTERACTIONS, identifier, texts)
        flags.update(raised)
        scored = safe.get("user_input", safe.get("prompt"))
        row: dict[str, Any] = {
            "interaction_id": identifier,
            "request_time": when,
            "use_case": self.use_case,
            "template_name": template_name,
            "template_version": template_version,
            "template_label": template_label,
            "model_name": model_name,
            "model_version": model_version,
            "prompt": safe.get("prompt"),
            "response": safe.get("response"),
            "latency_ms": latency_ms,
            "input_chars": len(prompt),
            "output_chars": len(response),
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "prompt_sentiment": (
                None if scored is None else self._sentiment.score(scored)
            ),
            "safety_attributes": attributes,
            "blocked": blocked,
            "guardrails": sorted(flags),
            "retrieved_chunk_ids": list(retrieved_chunk_ids or ()),
            "conversation_id": conversation_id,
            "turn": turn,
            "user_pseudonym": pseudonym(user_id, self._key) if user_id else None,
            "metrics_only": self.metrics_only,
        }
        self._add(c.TABLE_INTERACTIONS, row)
        return identifier

    def log_feedback(
        self,
        interaction_id: str,
        *,
        thumbs: int | None = None,
        rating: int | None = None,
        comment: str | None = None,
        corrected_response: str | None = None,
        candidate_a: str | None = None,
        candidate_b: str | None = None,
        preferred: str | None = None,
        user_id: str | None = None,
        feedback_time: dt.datetime | None = None,
    ) -> str:
        """Buffer one feedback row on ``interaction_id`` and return its id."""
        if not interaction_id:
            raise InputError("feedback needs the interaction_id it is about")
        if thumbs is not None and (
            isinstance(thumbs, bool)
            or not isinstance(thumbs, int)
            or thumbs not in (-1, 1)
        ):
            raise InputError(f"thumbs must be 1 (up) or -1 (down), got {thumbs!r}")
        if user_id is not None and not isinstance(user_id, str):
            raise InputError(f"user_id must be a string, got {type(user_id).__name__}")
        if rating is not None and (
            not isinstance(rating, int)
            or isinstance(rating, bool)
            or rating not in range(1, 6)
        ):
            raise InputError(
                f"rating must be a whole number from 1 to 5, got {rating!r}"
            )
        if preferred is not None:
            if preferred not in ("a", "b"):
                raise InputError(f"preferred must be 'a' or 'b', got {preferred!r}")
            if candidate_a is None or candidate_b is None:
                raise InputError(
                    "preferred needs both candidate_a and candidate_b, the two "
                    "responses the user chose between"
                )
        if all(
            value is None
            for value in (thumbs, rating, comment, corrected_response, preferred)
        ):
            raise InputError(
                "feedback is empty; give thumbs, rating, comment, corrected_response "
                "or preferred"
            )
        when = _utc(feedback_time, "feedback_time")
        keep = not self.metrics_only
        identifier = uuid.uuid4().hex
        texts = {
            "comment": comment,
            "corrected_response": corrected_response,
            "candidate_a": candidate_a,
            "candidate_b": candidate_b,
        }
        safe, _ = self._protect(
            c.TABLE_FEEDBACK,
            identifier,
            {k: v for k, v in texts.items() if v is not None} if keep else {},
        )
        row = {
            "feedback_id": identifier,
            "interaction_id": interaction_id,
            "feedback_time": when,
            "use_case": self.use_case,
            "user_pseudonym": pseudonym(user_id, self._key) if user_id else None,
            "thumbs": thumbs,
            "rating": rating,
            "comment": safe.get("comment"),
            "corrected_response": safe.get("corrected_response"),
            "candidate_a": safe.get("candidate_a"),
            "candidate_b": safe.get("candidate_b"),
            "preferred": preferred,
        }
        self._add(c.TABLE_FEEDBACK, row)
        return identifier

    def _protect(
        self, table: str, identifier: str, texts: Mapping[str, str]
    ) -> tuple[dict[str, str | None], set[str]]:
        """The texts redacted, and the guardrail flags saying what was done.

        Without a redactor the texts come back as given. When the redactor
        fails, no text comes back (the row is written without it), so a raw
        value never reaches the buffer.
        """
        if self._redactor is None or not texts:
            unchanged: dict[str, str | None] = dict(texts)
            return unchanged, set()
        findings: dict[str, int] = {}
        safe: dict[str, str | None] = {}
        try:
            for name, text in texts.items():
                redaction = self._redactor.redact(text)
                safe[name] = redaction.text
                for info_type, count in redaction.findings.items():
                    findings[info_type] = findings.get(info_type, 0) + count
        # Any failure (a DLP outage, a bad template) must not let the raw text
        # through, nor lose the row's metrics: keep the row, drop its text.
        except Exception as error:
            logger.warning(
                "monitoring.redaction_failed table=%s id=%s error=%s",
                table,
                identifier,
                type(error).__name__,
            )
            return dict.fromkeys(texts), {REDACTION_FAILED}
        if not findings:
            return safe, set()
        logger.debug(
            "monitoring.redacted table=%s id=%s findings=%s",
            table,
            identifier,
            ",".join(f"{k}:{n}" for k, n in sorted(findings.items())),
        )
        return safe, {PII_REDACTED}

    # -- Writing ---------------------------------------------------------------

    def _add(self, table: str, row: dict[str, Any]) -> None:
        with self._lock:
            self._buffers[table].append(row)
            if self._oldest is None:
                self._oldest = self._clock()
            pending = sum(len(rows) for rows in self._buffers.values())
            overdue = self._clock() - self._oldest >= self._max_delay
        if pending >= self._batch_size or overdue:
            self.flush()

    def pending(self) -> int:
        """Rows buffered and not yet written."""
        with self._lock:
            return sum(len(rows) for rows in self._buffers.values())

    def flush(self) -> FlushResult:
        """Write every buffered row; report and dead-letter what cannot be written."""
        result = FlushResult()
        with self._lock:
            # Interactions first: feedback refers to them.
            for table in (c.TABLE_INTERACTIONS, c.TABLE_FEEDBACK):
                rows, self._buffers[table] = self._buffers[table], []
                for start in range(0, len(rows), self._batch_size):
                    self._write(table, rows[start : start + self._batch_size], result)
            self._oldest = None
        if result.rejected:
            self.rejected.extend(result.rejected)
            self._dead_letter(result.rejected)
        return result

    def _write(
        self, table: str, rows: list[dict[str, Any]], result: FlushResult
    ) -> None:
        try:
            self._insert_with_retry(table, rows)
            result.inserted += len(rows)
            logger.debug("monitoring.flushed table=%s rows=%d", table, len(rows))
            return
        except InputError as error:
            if len(rows) == 1:
                result.rejected.append(RejectedRow(table, rows[0], str(error)))
                self._report(table, rows[0], str(error))
                return
        except TransientError as error:
            reason = f"still failing after {self._attempts} attempts: {error}"
            for row in rows:
                result.rejected.append(RejectedRow(table, row, reason))
                self._report(table, row, reason)
            return
        # The batch was refused as a whole (nothing of it was written): try each
        # row on its own so that the good ones land and the bad ones are named.
        for row in rows:
            self._write(table, [row], result)

    def _insert_with_retry(self, table: str, rows: list[dict[str, Any]]) -> None:
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            try:
                self._tables.insert(table, rows)
                return
            except TransientError as error:
                if attempt == self._attempts:
                    raise
                logger.warning(
                    "monitoring.retry table=%s rows=%d attempt=%d error=%s",
                    table,
                    len(rows),
                    attempt,
                    type(error).__name__,
                )
                self._sleep(delay)
                delay *= 2

    def _report(self, table: str, row: Mapping[str, Any], reason: str) -> None:
        key = "interaction_id" if table == c.TABLE_INTERACTIONS else "feedback_id"
        logger.error(
            "monitoring.row_rejected table=%s id=%s reason=%s dead_letter=%s",
            table,
            row.get(key),
            reason,
            self.dead_letter_path,
        )

    def _dead_letter(self, rejected: Sequence[RejectedRow]) -> None:
        self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC).isoformat()
        with self.dead_letter_path.open("a", encoding="utf-8") as out:
            for entry in rejected:
                out.write(
                    json.dumps(
                        {
                            "time": now,
                            "table": entry.table,
                            "reason": entry.reason,
                            "row": entry.row,
                        },
                        ensure_ascii=False,
                        default=str,
                    )
                    + "\n"
                )

    def close(self) -> FlushResult:
        """Write whatever is still buffered."""
        return self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _check_interaction(
    *,
    prompt: object,
    response: object,
    model_name: object,
    latency_ms: object,
    counts: Mapping[str, object],
    lists: Mapping[str, object],
    user_id: object,
) -> None:
    """Refuse values no row should hold, naming the argument."""
    for name, value in (("prompt", prompt), ("response", response)):
        if not isinstance(value, str):
            hint = (
                " or the RenderedPrompt that prompt.render(...) returns"
                if name == "prompt" and hasattr(value, "render")
                else ""
            )
            raise InputError(
                f"{name} must be a string{hint}, got {type(value).__name__}"
            )
    if not isinstance(model_name, str) or not model_name.strip():
        raise InputError("model_name must name the model that answered")
    if latency_ms is not None and (
        isinstance(latency_ms, bool)
        or not isinstance(latency_ms, int | float)
        or not math.isfinite(latency_ms)
        or latency_ms < 0
    ):
        raise InputError(
            f"latency_ms must be a finite number of milliseconds >= 0, got "
            f"{latency_ms!r}"
        )
    for name, value in counts.items():
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= INT64_MAX
        ):
            raise InputError(
                f"{name} must be a whole number from 0 to {INT64_MAX} (BigQuery's "
                f"INT64), got {value!r:.40}"
            )
    for name, value in lists.items():
        if isinstance(value, str | bytes):
            raise InputError(
                f"{name} must be a list of strings, got the single string "
                f"{value[:40]!r}; wrap it in a list"
            )
        if value is not None and not isinstance(value, _LISTS):
            raise InputError(
                f"{name} must be a list of strings, got {type(value).__name__} "
                f"{value!r:.40}"
            )
        for position, item in enumerate(value or ()):
            if not isinstance(item, str):
                raise InputError(
                    f"{name}[{position}] must be a string, got "
                    f"{type(item).__name__} {item!r:.40}"
                )
    if user_id is not None and not isinstance(user_id, str):
        raise InputError(f"user_id must be a string, got {type(user_id).__name__}")
