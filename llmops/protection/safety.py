"""Safety capture: a Gemini response's safety ratings, as the logger stores them.

``read_safety(response)`` reads a google-genai ``GenerateContentResponse``, or
the plain dict of the REST JSON (camelCase, as ``generateContent`` returns it,
or the snake_case of ``model_dump``), and returns a :class:`SafetyCapture`:
the :class:`~llmops.monitoring.SafetyAttribute` list (category, probability,
score, blocked) and whether the prompt or the response was blocked::

    response = client.models.generate_content(model=model, contents=prompt)
    safety = read_safety(response)
    log.log_interaction(
        prompt=prompt,
        response=response.text or "",
        model_name=model,
        safety_attributes=safety.attributes,
        blocked=safety.blocked,
        guardrails=safety.flags,
    )

The prompt was blocked when ``promptFeedback.blockReason`` is set (there is
then no candidate); the response was blocked when the first candidate's
``finishReason`` is one of :data:`SAFETY_FINISH_REASONS`. Ratings come from
the first candidate (the one ``response.text`` reads), then from the prompt
feedback for categories the candidate does not rate. Severity ratings are
not kept: the interactions table has no column for them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops.monitoring.logger import SafetyAttribute

# Finish reasons that mean a content filter stopped the response.
SAFETY_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
    }
)
# Guardrail flags a capture raises, so the table tells the two blocks apart.
PROMPT_BLOCKED = "prompt_blocked"
RESPONSE_BLOCKED = "response_blocked"
_UNSPECIFIED = ("", "BLOCKED_REASON_UNSPECIFIED", "FINISH_REASON_UNSPECIFIED")


@dataclass(frozen=True)
class SafetyCapture:
    """What a model call's response says about safety."""

    attributes: list[SafetyAttribute] = field(default_factory=list)
    prompt_blocked: bool = False
    response_blocked: bool = False
    # The prompt's block reason or the response's finish reason, when blocked.
    reason: str | None = None

    @property
    def blocked(self) -> bool:
        """Whether the prompt or the response was blocked."""
        return self.prompt_blocked or self.response_blocked

    @property
    def flags(self) -> list[str]:
        """The guardrail flags for the interaction row."""
        return [
            flag
            for flag, raised in (
                (PROMPT_BLOCKED, self.prompt_blocked),
                (RESPONSE_BLOCKED, self.response_blocked),
            )
            if raised
        ]


def _field(part: Any, snake: str) -> Any:
    """One field of an SDK object or of a dict in either key style."""
    if part is None:
        return None
    if isinstance(part, Mapping):
        if snake in part:
            return part[snake]
        head, *rest = snake.split("_")
        return part.get(head + "".join(word.title() for word in rest))
    return getattr(part, snake, None)


def _name(value: Any) -> str:
    """An enum's name as the API spells it (``HIGH``, ``SAFETY``), or ''."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        value = value.value if isinstance(value.value, str) else value.name
    return str(value)


def _score(value: Any) -> float | None:
    return None if value is None else float(value)


def _ratings(part: Any) -> Iterable[SafetyAttribute]:
    for rating in _field(part, "safety_ratings") or ():
        category = _name(_field(rating, "category"))
        if not category:
            continue
        yield SafetyAttribute(
            category=category,
            probability=_name(_field(rating, "probability")) or None,
            score=_score(_field(rating, "probability_score")),
            blocked=bool(_field(rating, "blocked")),
        )


def read_safety(response: Any) -> SafetyCapture:
    """Read a ``GenerateContentResponse`` or its REST JSON dict.

    An object with ``to_dict()`` (the Vertex AI SDK's responses) is read
    through it. A response with neither candidates nor prompt feedback gives
    an empty capture, not an error: there is nothing to rate.
    """
    if not isinstance(response, Mapping) and callable(
        getattr(response, "to_dict", None)
    ):
        response = response.to_dict()

    feedback = _field(response, "prompt_feedback")
    block_reason = _name(_field(feedback, "block_reason"))
    prompt_blocked = block_reason not in _UNSPECIFIED

    candidates = list(_field(response, "candidates") or ())
    first = candidates[0] if candidates else None
    finish = _name(_field(first, "finish_reason"))
    response_blocked = finish in SAFETY_FINISH_REASONS

    # The candidate's ratings first; the prompt's fill in the categories the
    # candidate does not rate (all of them when the prompt was blocked).
    attributes = list(_ratings(first))
    rated = {a.category for a in attributes}
    attributes += [a for a in _ratings(feedback) if a.category not in rated]

    reason = block_reason if prompt_blocked else (finish if response_blocked else None)
    return SafetyCapture(attributes, prompt_blocked, response_blocked, reason)
