"""Uploads to the local platform reach a functions-framework function as CloudEvents.

The platform here serves ``recording_function.py`` (not the ingestion
function), which writes every event it receives to a JSON-lines file.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmops import contract
from llmops.backends.gcs import GcsObjectStore
from llmops.local import LocalPlatform, RelayOptions

_FUNCTION = Path(__file__).with_name("recording_function.py")
_MAX_ATTEMPTS = 3


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _wait_for(
    read: Callable[[], list[dict[str, Any]]],
    match: Callable[[dict[str, Any]], bool],
    count: int = 1,
    timeout: float = 15.0,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [record for record in read() if match(record)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} records, found {found}")
        time.sleep(0.02)


class Recording:
    """The recording platform, its records and a store on its emulator."""

    def __init__(self, platform: LocalPlatform, calls: Path) -> None:
        self.platform = platform
        self.calls_file = calls
        self.store = GcsObjectStore.for_emulator(platform.storage_endpoint)
        self.docs = platform.buckets["docs"]

    def calls(self) -> list[dict[str, Any]]:
        return _lines(self.calls_file)

    def deliveries(self) -> list[dict[str, Any]]:
        return _lines(self.platform.relay_log)


@pytest.fixture(scope="module")
def recording(
    start_local_platform: Callable[..., LocalPlatform],
    tmp_path_factory: pytest.TempPathFactory,
) -> Recording:
    """A platform whose functions record events; fail-first objects fail twice."""
    calls = tmp_path_factory.mktemp("recording") / "calls.jsonl"
    platform = start_local_platform(
        function_source=_FUNCTION,
        extra_env={"RECORDING_FILE": str(calls), "RECORDING_FAIL_FIRST": "2"},
        relay=RelayOptions(
            max_attempts=_MAX_ATTEMPTS,
            initial_backoff_seconds=0.05,
            max_backoff_seconds=0.2,
        ),
    )
    return Recording(platform, calls)


def _name(kind: str) -> str:
    return f"{kind}/{uuid.uuid4().hex[:10]}.txt"


def test_upload_reaches_the_function_as_a_finalized_cloudevent(
    recording: Recording,
) -> None:
    """An upload is delivered with the storage type, source, subject and data."""
    name = _name("plain")
    uploaded = time.time()
    generation = recording.store.write(
        recording.docs,
        name,
        b"hello",
        content_type="text/plain",
        metadata={contract.METADATA_USE_CASE: "hr"},
    )

    [call] = _wait_for(recording.calls, lambda c: c["data"]["name"] == name)

    attributes, data = call["attributes"], call["data"]
    assert call["target"] == "on_object_finalized"
    assert attributes["type"] == contract.EVENT_FINALIZED
    assert attributes["subject"] == f"objects/{name}"
    assert attributes["source"] == (
        f"//storage.googleapis.com/projects/_/buckets/{recording.docs}"
    )
    assert attributes["id"]
    assert data["generation"] == str(generation)
    assert data["metageneration"] == "1"
    assert data["size"] == "5"
    assert data["contentType"] == "text/plain"
    assert data["metadata"] == {contract.METADATA_USE_CASE: "hr"}
    # Upload to function call, through the emulator, the relay and the framework.
    assert call["received"] - uploaded < 2.0


def test_a_failing_function_is_retried_and_the_recovered_one_acknowledged(
    recording: Recording,
) -> None:
    """Two 500 answers are retried; the third attempt succeeds and is acked."""
    name = _name("fail-first")
    recording.store.write(recording.docs, name, b"x")

    records = _wait_for(recording.deliveries, lambda r: r["object"] == name, count=3)

    assert [(r["attempt"], r["status"], r["outcome"]) for r in records] == [
        (1, 500, "retry"),
        (2, 500, "retry"),
        (3, 200, "acked"),
    ]
    calls = [c for c in recording.calls() if c["data"]["name"] == name]
    assert [c["call"] for c in calls] == [1, 2, 3]
    assert len({c["attributes"]["id"] for c in calls}) == 1


def test_overwrite_finalizes_the_new_generation_and_deletes_the_old(
    recording: Recording,
) -> None:
    """Overwriting gives a finalize for the new generation, a delete for the old."""
    name = _name("overwrite")
    first = recording.store.write(recording.docs, name, b"one")
    second = recording.store.write(recording.docs, name, b"two")

    finalized = _wait_for(
        recording.calls,
        lambda c: c["data"]["name"] == name and c["target"] == "on_object_finalized",
        count=2,
    )
    [deleted] = _wait_for(
        recording.calls,
        lambda c: c["data"]["name"] == name and c["target"] == "on_object_deleted",
    )

    assert sorted(int(c["data"]["generation"]) for c in finalized) == [first, second]
    assert deleted["attributes"]["type"] == contract.EVENT_DELETED
    assert deleted["data"]["generation"] == str(first)


def test_delete_reaches_the_delete_function(recording: Recording) -> None:
    """Deleting an object delivers a deleted event for its live generation."""
    name = _name("deleted")
    generation = recording.store.write(recording.docs, name, b"x")
    recording.store.delete(recording.docs, name)

    [deleted] = _wait_for(
        recording.calls,
        lambda c: c["data"]["name"] == name and c["target"] == "on_object_deleted",
    )

    assert deleted["attributes"]["type"] == contract.EVENT_DELETED
    assert deleted["attributes"]["subject"] == f"objects/{name}"
    assert deleted["data"]["generation"] == str(generation)


def test_a_permanently_failing_event_lands_in_the_dead_letter_file(
    recording: Recording,
) -> None:
    """An event whose every attempt fails is written to the dead-letter file."""
    name = _name("always-fail")
    generation = recording.store.write(recording.docs, name, b"x")

    [dead] = _wait_for(
        lambda: _lines(recording.platform.dead_letter_file),
        lambda d: d["data"]["name"] == name,
    )

    assert dead["attempts"] == _MAX_ATTEMPTS
    assert dead["last_status"] == 500
    assert dead["data"]["generation"] == str(generation)
    attempts = [r for r in recording.deliveries() if r["object"] == name]
    assert [r["attempt"] for r in attempts] == [1, 2, 3]


def test_other_buckets_raise_no_events(recording: Recording) -> None:
    """Writes to the chunks bucket trigger nothing; only the docs bucket does."""
    name = _name("chunk")
    marker = _name("marker")
    recording.store.write(recording.platform.buckets["chunks"], name, b"x")
    recording.store.write(recording.docs, marker, b"x")

    _wait_for(recording.calls, lambda c: c["data"]["name"] == marker)

    assert not [c for c in recording.calls() if c["data"]["name"] == name]
