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
    event_id = attributes.get("id")
    try:
        bucket = str(data["bucket"])
        name = str(data["name"])
        generation = int(data["generation"])
        size = int(data.get("size") or 0)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(
            f"event {event_id!r} data lacks a valid bucket, name, generation or "
            f"size ({type(error).__name__}: {error})"
        ) from None
    metadata = data.get("metadata") or {}
    if not bucket or not name or generation <= 0 or size < 0:
        raise InputError(
            f"event {event_id!r} names no object: bucket {bucket!r}, name {name!r}, "
            f"generation {generation}, size {size}"
        )
    if not isinstance(metadata, Mapping):
        raise InputError(
            f"event {event_id!r} metadata must be an object of strings, got "
            f"{type(metadata).__name__}"
        )
    content_type = data.get("contentType")
    return ObjectEvent(
        id=str(event_id or ""),
        type=event_type,
        bucket=bucket,
        name=name,
        generation=generation,
        size=size,
        content_type=str(content_type) if content_type else None,
        metadata={str(k): str(v) for k, v in metadata.items()},
    )
