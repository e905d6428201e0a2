"""A CloudEvent function that records what it receives, for the relay tests.

Each call appends one JSON line to ``$RECORDING_FILE``: the event's
attributes, its data and the receive time. ``$RECORDING_FAIL_FIRST`` answers
500 to the first N calls for an object whose name contains ``fail-first``;
an object whose name contains ``always-fail`` is answered 500 every time.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

_lock = threading.Lock()
_calls: dict[str, int] = {}


def _record(event: CloudEvent, target: str) -> int:
    data: Any = event.get_data()
    name = data.get("name", "") if isinstance(data, dict) else ""
    with _lock:
        count = _calls.get(f"{event['id']}", 0) + 1
        _calls[f"{event['id']}"] = count
        line = {
            "target": target,
            "received": time.time(),
            "call": count,
            "attributes": {key: event[key] for key in event.get_attributes()},
            "data": data,
        }
        with open(os.environ["RECORDING_FILE"], "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    if "always-fail" in name:
        raise RuntimeError("always-fail object")
    if "fail-first" in name and count <= int(
        os.environ.get("RECORDING_FAIL_FIRST", "0")
    ):
        raise RuntimeError("fail-first object")
    return count


@functions_framework.cloud_event
def on_object_finalized(event: CloudEvent) -> None:
    """Record a finalize event."""
    _record(event, "on_object_finalized")


@functions_framework.cloud_event
def on_object_deleted(event: CloudEvent) -> None:
    """Record a delete event."""
    _record(event, "on_object_deleted")
