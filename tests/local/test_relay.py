"""The event relay in process: notification to CloudEvent, retries, dead letters."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.pubsub_v1.types import PublishRequest, PublishResponse, PubsubMessage

from llmops import contract
from llmops.errors import ConfigError
from llmops.local.relay import EventRelay, RelayOptions, storage_event

_FINALIZE = {
    "objectId": "hr/a.txt",
    "eventType": "OBJECT_FINALIZE",
    "objectGeneration": "1700000000000001",
    "bucketId": "llmops-docs",
    "payloadFormat": "JSON_API_V1",
}
_PAYLOAD = {
    "kind": "storage#object",
    "name": "hr/a.txt",
    "bucket": "llmops-docs",
    "generation": "1700000000000001",
    "contentType": "text/plain",
    "size": "5",
    "timeCreated": "2026-12-04T10:00:00.000001Z",
    "updated": "2026-12-04T10:00:00.000002Z",
    "metadata": {"llmops-use-case": "hr"},
}


def test_finalize_notification_becomes_a_storage_cloudevent() -> None:
    """A finalize notification maps to the finalized type, source and subject."""
    event = storage_event(_FINALIZE, json.dumps(_PAYLOAD).encode(), event_id="e-1")

    assert event is not None
    assert event.type == contract.EVENT_FINALIZED
    assert event.source == "//storage.googleapis.com/projects/_/buckets/llmops-docs"
    assert event.subject == "objects/hr/a.txt"
    assert event.time == "2026-12-04T10:00:00.000002Z"
    assert event.data["metadata"] == {"llmops-use-case": "hr"}
    headers = event.headers()
    assert headers["ce-id"] == "e-1"
    assert headers["ce-specversion"] == "1.0"
    assert headers["content-type"].startswith("application/json")
    assert json.loads(event.body())["generation"] == "1700000000000001"


def test_missing_fields_are_filled_as_gcs_sends_them() -> None:
    """metageneration, etag and id are filled; numbers stay strings."""
    payload = dict(_PAYLOAD, size=5)

    event = storage_event(_FINALIZE, json.dumps(payload).encode())

    assert event is not None
    assert event.data["metageneration"] == "1"
    assert event.data["size"] == "5"
    assert event.data["etag"]
    assert event.data["id"] == "llmops-docs/hr/a.txt/1700000000000001"


def test_delete_notification_without_payload_uses_attributes() -> None:
    """A delete with an empty payload still names bucket, object and generation."""
    attributes = dict(_FINALIZE, eventType="OBJECT_DELETE")

    event = storage_event(attributes, b"")

    assert event is not None
    assert event.type == contract.EVENT_DELETED
    assert event.data["bucket"] == "llmops-docs"
    assert event.data["name"] == "hr/a.txt"
    assert event.data["generation"] == "1700000000000001"


def test_unknown_notification_type_gives_no_event() -> None:
    """A notification of a type Eventarc has no CloudEvent for is dropped."""
    assert storage_event(dict(_FINALIZE, eventType="OBJECT_RENAMED"), b"{}") is None


def test_event_ids_are_unique_per_event() -> None:
    """Two notifications of the same object get different CloudEvent ids."""
    first = storage_event(_FINALIZE, json.dumps(_PAYLOAD).encode())
    second = storage_event(_FINALIZE, json.dumps(_PAYLOAD).encode())

    assert first is not None and second is not None
    assert first.id != second.id


def test_backoff_doubles_up_to_its_cap() -> None:
    """Waits between attempts double from the initial backoff and stop at the cap."""
    options = RelayOptions(initial_backoff_seconds=0.5, max_backoff_seconds=3.0)

    assert [options.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_options_reject_a_relay_that_never_delivers() -> None:
    """Zero attempts or zero workers are configuration errors."""
    with pytest.raises(ConfigError, match="max_attempts"):
        RelayOptions(max_attempts=0)
    with pytest.raises(ConfigError, match="workers"):
        RelayOptions(workers=0)


class _Function:
    """A local HTTP endpoint whose answers a test scripts."""

    def __init__(self, answers: Callable[[int], int]) -> None:
        self.answers = answers
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                with outer.lock:
                    outer.calls.append({"headers": dict(self.headers), "body": body})
                    status = outer.answers(len(outer.calls))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _publish(port: int, count: int = 1) -> list[str]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        publish = channel.unary_unary(
            "/google.pubsub.v1.Publisher/Publish",
            request_serializer=PublishRequest.serialize,
            response_deserializer=PublishResponse.deserialize,
        )
        request = PublishRequest(
            topic="projects/local/topics/storage-events",
            messages=[
                PubsubMessage(data=json.dumps(_PAYLOAD).encode(), attributes=_FINALIZE)
                for _ in range(count)
            ],
        )
        return list(publish(request, timeout=5).message_ids)
    finally:
        channel.close()


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def relay_with(tmp_path: Path) -> Iterator[Callable[..., tuple[EventRelay, _Function]]]:
    """Start an EventRelay in process towards a scripted function."""
    opened: list[tuple[EventRelay, _Function]] = []

    def start(
        answers: Callable[[int], int], **options: Any
    ) -> tuple[EventRelay, _Function]:
        function = _Function(answers)
        relay = EventRelay(
            tmp_path, {contract.EVENT_FINALIZED: function.url}, RelayOptions(**options)
        )
        relay.start()
        opened.append((relay, function))
        return relay, function

    yield start
    for relay, function in opened:
        relay.stop()
        function.close()


def test_each_published_message_gets_a_message_id(
    relay_with: Callable[..., Any],
) -> None:
    """A publish of three messages is answered with three distinct ids."""
    relay, function = relay_with(lambda call: 204)

    ids = _publish(relay.port, count=3)

    assert len(set(ids)) == 3
    _wait(lambda: len(function.calls) == 3)


def test_a_failing_function_is_retried_until_it_acknowledges(
    relay_with: Callable[..., Any], tmp_path: Path
) -> None:
    """Answers of 500 and 503 are retried; the first 2xx acknowledges the event."""
    answers = {1: 500, 2: 503}
    relay, function = relay_with(
        lambda call: answers.get(call, 200), initial_backoff_seconds=0.05
    )

    _publish(relay.port)
    _wait(
        lambda: any(r["outcome"] == "acked" for r in _lines(tmp_path / "relay.jsonl"))
    )

    records = _lines(tmp_path / "relay.jsonl")
    assert [(r["attempt"], r["status"], r["outcome"]) for r in records] == [
        (1, 500, "retry"),
        (2, 503, "retry"),
        (3, 200, "acked"),
    ]
    assert len({call["headers"]["ce-id"] for call in function.calls}) == 1
    assert not (tmp_path / "dead-letter.jsonl").exists()


def test_an_event_that_never_succeeds_is_dead_lettered(
    relay_with: Callable[..., Any], tmp_path: Path
) -> None:
    """After max_attempts failures the event is appended to the dead-letter file."""
    relay, function = relay_with(
        lambda call: 500, max_attempts=3, initial_backoff_seconds=0.01
    )

    _publish(relay.port)
    _wait(lambda: bool(_lines(tmp_path / "dead-letter.jsonl")))

    [dead] = _lines(tmp_path / "dead-letter.jsonl")
    assert dead["attempts"] == 3
    assert dead["last_status"] == 500
    assert dead["data"]["name"] == "hr/a.txt"
    assert dead["headers"]["ce-type"] == contract.EVENT_FINALIZED
    assert len(function.calls) == 3


def test_a_refused_connection_is_retried_like_an_error_answer(
    tmp_path: Path,
) -> None:
    """A function that is not listening counts as a failed attempt, not a crash."""
    relay = EventRelay(
        tmp_path,
        {contract.EVENT_FINALIZED: "http://127.0.0.1:9/"},
        RelayOptions(max_attempts=2, initial_backoff_seconds=0.01),
    )
    relay.start()
    try:
        _publish(relay.port)
        _wait(lambda: bool(_lines(tmp_path / "dead-letter.jsonl")))
    finally:
        relay.stop()

    records = _lines(tmp_path / "relay.jsonl")
    assert [r["status"] for r in records] == [None, None]
    assert all("ConnectionRefused" in r["error"] for r in records)


def test_duplicate_option_delivers_each_event_twice_with_one_id(
    relay_with: Callable[..., Any],
) -> None:
    """With duplicate on, the function receives the same event id twice."""
    relay, function = relay_with(lambda call: 200, duplicate=True)

    _publish(relay.port)
    _wait(lambda: len(function.calls) == 2)

    ids = [call["headers"]["ce-id"] for call in function.calls]
    assert ids[0] == ids[1]


def test_restored_objects_are_not_delivered_but_their_later_events_are(
    relay_with: Callable[..., Any],
) -> None:
    """While restoring, finalizes of restored names drop; after, only their own.

    A finalize of a newer generation and a delete of the restored generation
    are the user's and go through.
    """
    relay, function = relay_with(lambda call: 204)
    relay_accept = relay._accept
    delete = {**_FINALIZE, "eventType": "OBJECT_DELETE"}

    def send(attributes: dict[str, str], generation: str) -> None:
        payload = {**_PAYLOAD, "generation": generation}
        relay_accept(
            {**attributes, "objectGeneration": generation},
            json.dumps(payload).encode(),
            time.time(),
        )

    relay.ignore({("llmops-docs", "hr/a.txt")})
    send(_FINALIZE, "5")
    relay.settle({("llmops-docs", "hr/a.txt"): 7})
    send(_FINALIZE, "7")  # the restore's own notification, published late
    send(_FINALIZE, "9")  # an upload after the restore
    send(delete, "7")  # the restored generation deleted by the user
    _wait(lambda: len(function.calls) == 1)
    time.sleep(0.2)

    assert [c["body"]["generation"] for c in function.calls] == ["9"]
    # The delete was not taken for a restore (it has no route here).
    assert relay.ignored == 2
