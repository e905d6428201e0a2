"""What the ingestion functions run for each CloudEvent.

Each handler takes four visible steps: check the event type, read the
object's fields, run the pipeline, log the outcome. Returning acknowledges
the event; raising asks the platform to redeliver it (see the retry contract
in ``llmops.ingest.pipeline``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from llmops.errors import InputError
from llmops.ingest import events
from llmops.ingest.pipeline import IngestionPipeline, Outcome

logger = logging.getLogger(__name__)

_pipeline: IngestionPipeline | None = None
_lock = threading.Lock()


def pipeline() -> IngestionPipeline:
    """The process's pipeline, built from the environment on first use."""
    global _pipeline
    with _lock:
        if _pipeline is None:
            from llmops.runtime import build_pipeline
            from llmops.settings import Settings

            _pipeline = build_pipeline(Settings.from_env())
        return _pipeline


def handle_storage_event(cloud_event: Any, *, expected_type: str) -> Outcome | None:
    """Handle one storage CloudEvent delivered to the function for ``expected_type``."""
    attributes = cloud_event.get_attributes()

    # A misrouted event will not get better by retrying it: acknowledge it.
    if attributes.get("type") != expected_type:
        logger.error(
            "ingest.event_misrouted",
            extra={
                "fields": {
                    "id": attributes.get("id"),
                    "type": attributes.get("type"),
                    "expected": expected_type,
                }
            },
        )
        return None

    try:
        event = events.decode(attributes, cloud_event.get_data())
    except InputError as error:
        logger.error("ingest.event_invalid", extra={"fields": {"error": str(error)}})
        return None

    return pipeline().handle(event)
