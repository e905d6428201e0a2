"""Cloud Functions (gen2) entrypoints: storage events in the docs bucket.

Deployed twice from this source, with an Eventarc trigger each:

- ``on_object_finalized`` for ``google.cloud.storage.object.v1.finalized``:
  an upload or overwrite is extracted, chunked, embedded and upserted, and
  the previous generation's datapoints are removed.
- ``on_object_deleted`` for ``google.cloud.storage.object.v1.deleted``: the
  object's datapoints and chunks are removed.

Retry contract (retries are on for both triggers): returning acknowledges the
event, including a document that cannot be ingested (its ingestion-events row
says why); raising, which the framework answers with a 500, makes Eventarc
deliver it again. Only transient backend failures (429, 503, timeouts) and
configuration errors raise. Deliveries are at least once; the pipeline is
idempotent per (bucket, object, generation) and drops stale events.

The logic lives in the ``llmops`` package; this file only routes.
"""

import functions_framework
from cloudevents.http.event import CloudEvent

from llmops import log
from llmops.contract import EVENT_DELETED, EVENT_FINALIZED
from llmops.ingest.entrypoint import handle_storage_event

log.configure("json")


@functions_framework.cloud_event
def on_object_finalized(cloud_event: CloudEvent) -> None:
    """An object was uploaded or overwritten in the docs bucket."""
    handle_storage_event(cloud_event, expected_type=EVENT_FINALIZED)


@functions_framework.cloud_event
def on_object_deleted(cloud_event: CloudEvent) -> None:
    """An object generation was deleted (or replaced) in the docs bucket."""
    handle_storage_event(cloud_event, expected_type=EVENT_DELETED)
