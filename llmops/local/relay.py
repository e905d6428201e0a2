"""The event relay: storage notifications in, storage CloudEvents out.

The storage emulator publishes object notifications to Pub/Sub only. The relay
is a small gRPC server for ``google.pubsub.v1.Publisher/Publish`` that turns
each notification into the CloudEvent Eventarc would send for it and posts it,
in binary content mode, to the function registered for its type.

Delivery follows the Eventarc contract, on a shorter clock: at least once;
a 2xx answer acknowledges; any other answer or a connection error is retried
with exponential backoff up to ``max_attempts``; an event that still fails is
appended to the dead-letter file. Every attempt is one JSON line in the
delivery log, so tests can count them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import heapq
import http.client
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import grpc
from google.pubsub_v1.types import PublishRequest, PublishResponse

from llmops import contract
from llmops.errors import ConfigError

logger = logging.getLogger(__name__)

_SERVICE = "google.pubsub.v1.Publisher"

# Notification event types (Pub/Sub attribute ``eventType``) and the CloudEvent
# types Eventarc gives them.
EVENT_TYPES: dict[str, str] = {
    "OBJECT_FINALIZE": contract.EVENT_FINALIZED,
    "OBJECT_DELETE": contract.EVENT_DELETED,
    "OBJECT_ARCHIVE": "google.cloud.storage.object.v1.archived",
    "OBJECT_METADATA_UPDATE": "google.cloud.storage.object.v1.metadataUpdated",
}

# Fields of the object resource that GCS sends as strings.
_STRING_NUMBERS = ("generation", "metageneration", "size")


@dataclass(frozen=True)
class RelayOptions:
    """How the relay delivers: retries, concurrency, duplicates."""

    max_attempts: int = 6
    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0
    workers: int = 4
    delivery_timeout_seconds: float = 300.0
    # Deliver each event twice, as at-least-once delivery may.
    duplicate: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(
                f"relay max_attempts must be at least 1, got {self.max_attempts}"
            )
        if self.workers < 1:
            raise ConfigError(f"relay workers must be at least 1, got {self.workers}")
        if self.initial_backoff_seconds < 0 or self.max_backoff_seconds < 0:
            raise ConfigError("relay backoff seconds must not be negative")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
        return min(
            self.initial_backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy, for the supervisor's request file."""
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RelayOptions:
        """Read what ``to_json`` wrote."""
        return cls(**doc)


@dataclass(frozen=True)
class StorageCloudEvent:
    """A storage CloudEvent in binary content mode: headers plus a JSON body."""

    id: str
    type: str
    source: str
    subject: str
    time: str
    data: dict[str, Any]

    def headers(self) -> dict[str, str]:
        """The HTTP headers of binary content mode."""
        return {
            "ce-specversion": "1.0",
            "ce-id": self.id,
            "ce-type": self.type,
            "ce-source": _header_value(self.source),
            "ce-subject": _header_value(self.subject),
            "ce-time": self.time,
            "content-type": "application/json; charset=utf-8",
        }

    def body(self) -> bytes:
        """The event data, as the request body."""
        return json.dumps(self.data, separators=(",", ":")).encode()


def _header_value(value: str) -> str:
    """Percent-encode what an HTTP header cannot carry, as the CloudEvents HTTP
    binding asks (controls, non-ASCII, '%'); the object's name travels
    unencoded in the event data, which is what the function reads."""
    return "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '%"' else quote(ch, safe="")
        for ch in value
    )


def _rfc3339(moment: dt.datetime) -> str:
    return (
        moment.astimezone(dt.UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )


def storage_event(
    attributes: Mapping[str, str], payload: bytes, *, event_id: str | None = None
) -> StorageCloudEvent | None:
    """The CloudEvent for one notification, or None for an unknown event type.

    The emulator's payload lacks ``metageneration`` and ``etag``; they are
    filled in as GCS would have them for a freshly written object.
    """
    ce_type = EVENT_TYPES.get(attributes.get("eventType", ""))
    if ce_type is None:
        return None
    try:
        resource = json.loads(payload or b"{}")
    except ValueError:
        resource = {}
    if not isinstance(resource, dict):
        resource = {}

    bucket = str(resource.get("bucket") or attributes.get("bucketId", ""))
    name = str(resource.get("name") or attributes.get("objectId", ""))
    data: dict[str, Any] = dict(resource)
    data["bucket"] = bucket
    data["name"] = name
    data.setdefault("kind", "storage#object")
    data.setdefault("generation", attributes.get("objectGeneration", "0"))
    data.setdefault("metageneration", "1")
    data.setdefault("size", "0")
    for key in _STRING_NUMBERS:
        data[key] = str(data[key])
    data.setdefault("id", f"{bucket}/{name}/{data['generation']}")
    if "etag" not in data:
        # GCS etags are opaque; a stable digest of the version serves.
        digest = hashlib.sha1(
            f"{bucket}/{name}#{data['generation']}.{data['metageneration']}".encode()
        ).digest()
        data["etag"] = base64.b64encode(digest[:8]).decode()
    now = _rfc3339(dt.datetime.now(dt.UTC))
    data.setdefault("timeCreated", now)
    data.setdefault("updated", data["timeCreated"])

    return StorageCloudEvent(
        id=event_id or uuid.uuid4().hex,
        type=ce_type,
        source=f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        subject=f"objects/{name}",
        time=str(data.get("updated") or now),
        data=data,
    )


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    event: StorageCloudEvent = field(compare=False)
    url: str = field(compare=False)
    copy: int = field(compare=False, default=0)
    attempt: int = field(compare=False, default=1)
    published: float = field(compare=False, default=0.0)


class _JsonLines:
    """An append-only JSON-lines file shared by the workers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line)


class EventRelay:
    """Receives Pub/Sub publishes and delivers storage CloudEvents to functions.

    ``routes`` maps a CloudEvent type to the URL of the function that takes it;
    an event of a type without a route is acknowledged and dropped, as Eventarc
    does for a bucket without a trigger of that type.
    """

    def __init__(
        self,
        state_dir: Path,
        routes: Mapping[str, str],
        options: RelayOptions | None = None,
    ) -> None:
        self.options = options or RelayOptions()
        self.routes = dict(routes)
        self.deliveries = _JsonLines(state_dir / "relay.jsonl")
        self.dead_letters = _JsonLines(state_dir / "dead-letter.jsonl")
        self._heap: list[_Delivery] = []
        self._ready = threading.Condition()
        self._in_flight = 0
        self._seq = itertools.count()
        self._message_ids = itertools.count(1)
        self._stopping = False
        self._workers: list[threading.Thread] = []
        self._server: grpc.Server | None = None
        self.port = 0
        self.last_activity = time.monotonic()
        # Objects being written back from a snapshot: any event for one is
        # dropped while ``_restoring`` holds it; afterwards, only the event of
        # the generation the restore wrote (it may be published late).
        self._restoring: set[tuple[str, str]] = set()
        self._restored: set[tuple[str, str, str]] = set()
        self.ignored = 0

    def start(self) -> int:
        """Start the gRPC server on a free 127.0.0.1 port and the workers."""
        handler = grpc.method_handlers_generic_handler(
            _SERVICE,
            {
                "Publish": grpc.unary_unary_rpc_method_handler(
                    self._publish,
                    request_deserializer=PublishRequest.deserialize,
                    response_serializer=PublishResponse.serialize,
                )
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        for number in range(self.options.workers):
            worker = threading.Thread(
                target=self._work, name=f"relay-worker-{number}", daemon=True
            )
            worker.start()
            self._workers.append(worker)
        logger.info("relay.started port=%d routes=%s", self.port, sorted(self.routes))
        return self.port

    def stop(self, grace_seconds: float = 1.0) -> None:
        """Stop taking publishes, then stop the workers (pending retries drop)."""
        if self._server is not None:
            self._server.stop(grace_seconds).wait(grace_seconds + 1)
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
        # A worker may be mid-delivery to a slow function; it is a daemon
        # thread, so do not hold the platform's shutdown for it.
        for worker in self._workers:
            worker.join(timeout=2.0)
        logger.info("relay.stopped pending=%d", len(self._heap))

    def ignore(self, objects: set[tuple[str, str]]) -> None:
        """Drop the finalize events of these (bucket, object) pairs until ``settle``."""
        with self._ready:
            self._restoring = set(objects)

    def settle(self, generations: Mapping[tuple[str, str], int]) -> None:
        """From now on drop only the finalize events of the restored generations."""
        with self._ready:
            self._restored = {
                (bucket, name, str(generation))
                for (bucket, name), generation in generations.items()
            }
            self._restoring = set()

    def _ignored(self, event: StorageCloudEvent) -> bool:
        # Only the finalize a restore causes; a later delete of that same
        # generation is the user's and is delivered.
        if event.type != contract.EVENT_FINALIZED:
            return False
        bucket, name = event.data["bucket"], event.data["name"]
        with self._ready:
            if (bucket, name) in self._restoring:
                return True
            key = (bucket, name, str(event.data["generation"]))
            if key in self._restored:
                self._restored.discard(key)
                return True
        return False

    def redeliver(
        self, event_type: str, bucket: str, name: str, generation: int
    ) -> None:
        """Deliver a storage notification the emulator cannot send again.

        A start uses it for deletes a stop cut short: the object is gone from
        the saved storage but its chunks are still indexed.
        """
        kind = {v: k for k, v in EVENT_TYPES.items()}[event_type]
        payload = {"bucket": bucket, "name": name, "generation": str(generation)}
        self._accept(
            {
                "eventType": kind,
                "bucketId": bucket,
                "objectId": name,
                "objectGeneration": str(generation),
            },
            json.dumps(payload).encode(),
            time.time(),
        )

    def pending(self) -> int:
        """Deliveries waiting or in flight."""
        with self._ready:
            return len(self._heap) + self._in_flight

    # -- Publisher/Publish ---------------------------------------------------

    def _publish(self, request: PublishRequest, context: grpc.ServicerContext) -> Any:
        received = time.time()
        message_ids = []
        for message in request.messages:
            message_id = str(next(self._message_ids))
            message_ids.append(message_id)
            self._accept(dict(message.attributes), bytes(message.data), received)
        self.last_activity = time.monotonic()
        # One id per message, or the emulator publishes the batch again.
        return PublishResponse(message_ids=message_ids)

    def _accept(
        self, attributes: dict[str, str], payload: bytes, received: float
    ) -> None:
        event = storage_event(attributes, payload)
        if event is None:
            logger.warning(
                "relay.unknown_event_type event_type=%s", attributes.get("eventType")
            )
            return
        if self._ignored(event):
            self.ignored += 1
            logger.debug("relay.restored_object subject=%s", event.subject)
            return
        url = self.routes.get(event.type)
        if url is None:
            logger.info("relay.no_route type=%s subject=%s", event.type, event.subject)
            return
        copies = 2 if self.options.duplicate else 1
        with self._ready:
            for copy in range(copies):
                heapq.heappush(
                    self._heap,
                    _Delivery(
                        time.monotonic(),
                        next(self._seq),
                        event,
                        url,
                        copy=copy,
                        published=received,
                    ),
                )
            self._ready.notify(copies)

    # -- Delivery ------------------------------------------------------------

    def _next(self) -> _Delivery | None:
        with self._ready:
            while True:
                if self._stopping:
                    return None
                if self._heap:
                    wait = self._heap[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._heap)
                    self._ready.wait(wait)
                else:
                    self._ready.wait()

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            try:
                self._attempt(delivery)
            except Exception as error:  # a worker must survive any one delivery
                logger.exception("relay.worker_error id=%s", delivery.event.id)
                self.dead_letters.append(
                    {
                        "event_id": delivery.event.id,
                        "type": delivery.event.type,
                        "url": delivery.url,
                        "attempts": delivery.attempt,
                        "last_status": None,
                        "last_error": f"{type(error).__name__}: {error}",
                        "data": delivery.event.data,
                        "time": _rfc3339(dt.datetime.now(dt.UTC)),
                    }
                )
            finally:
                with self._ready:
                    self._in_flight -= 1
                    self._ready.notify()
                self.last_activity = time.monotonic()

    def _post(self, delivery: _Delivery) -> int:
        parts = urlsplit(delivery.url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            timeout=self.options.delivery_timeout_seconds,
        )
        try:
            connection.request(
                "POST",
                parts.path or "/",
                body=delivery.event.body(),
                headers=delivery.event.headers(),
            )
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def _attempt(self, delivery: _Delivery) -> None:
        event = delivery.event
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            status = self._post(delivery)
        except (OSError, http.client.HTTPException) as failure:
            error = f"{type(failure).__name__}: {failure}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        acked = status is not None and 200 <= status < 300
        final = acked or delivery.attempt >= self.options.max_attempts
        outcome = "acked" if acked else ("dead_letter" if final else "retry")

        self.deliveries.append(
            {
                "event_id": event.id,
                "type": event.type,
                "bucket": event.data["bucket"],
                "object": event.data["name"],
                "generation": event.data["generation"],
                "copy": delivery.copy,
                "attempt": delivery.attempt,
                "status": status,
                "error": error,
                "outcome": outcome,
                "ms": round(elapsed_ms, 2),
                "since_publish_ms": round((time.time() - delivery.published) * 1000, 2),
                "time": _rfc3339(dt.datetime.now(dt.UTC)),
            }
        )
        logger.info(
            "relay.delivery id=%s type=%s object=%s generation=%s attempt=%d "
            "status=%s outcome=%s ms=%.1f",
            event.id,
            event.type,
            event.data["name"],
            event.data["generation"],
            delivery.attempt,
            status,
            outcome,
            elapsed_ms,
        )
        if acked:
            return
        if final:
            self.dead_letters.append(
                {
                    "event_id": event.id,
                    "type": event.type,
                    "url": delivery.url,
                    "attempts": delivery.attempt,
                    "last_status": status,
                    "last_error": error,
                    "headers": event.headers(),
                    "data": event.data,
                    "time": _rfc3339(dt.datetime.now(dt.UTC)),
                }
            )
            return
        with self._ready:
            delivery.attempt += 1
            delivery.due = time.monotonic() + self.options.backoff(delivery.attempt - 1)
            delivery.seq = next(self._seq)
            heapq.heappush(self._heap, delivery)
            self._ready.notify()
