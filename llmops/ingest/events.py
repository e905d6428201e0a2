"""Storage CloudEvents, decoded into what the pipeline needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops.contract import EVENT_DELETED, EVENT_FINALIZED
from llmops.errors import InputError


@dataclass(frozen=True)
class ObjectEvent:
    """One storage event: which object generation it concerns."""

    id: str
    type: str
    bucket: str
    name: str
    generation: int
    size: int
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "finalized" if self.type == EVENT_FINALIZED else "deleted"


def decode(
    attributes: Mapping[str, Any], data: Mapping[str, Any] | None
) -> ObjectEvent:
    """Read a storage CloudEvent's attributes and data (an object resource).

    In storage event data ``generation`` and ``size`` are strings.
    """
    event_type = str(attributes.get("type", ""))
    if event_type not in (EVENT_FINALIZED, EVENT_DELETED):
        raise InputError(
            f"event type {event_type!r} is not a storage object event; route only "
            f"{EVENT_FINALIZED} and {EVENT_DELETED} to this function"
        )
    if not isinstance(data, Mapping):
        raise InputError(
            f"event {attributes.get('id')!r} carries no object resource as data"
        )
    try:
        bucket = str(data["bucket"])
        name = str(data["name"])
        generation = int(data["generation"])
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(
            f"event {attributes.get('id')!r} data lacks a valid bucket, name or "
            f"generation ({error})"
        ) from None
    return ObjectEvent(
        id=str(attributes.get("id", "")),
        type=event_type,
        bucket=bucket,
        name=name,
        generation=generation,
        size=int(data.get("size") or 0),
        content_type=data.get("contentType"),
        metadata=dict(data.get("metadata") or {}),
    )
