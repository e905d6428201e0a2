"""GcsObjectStore against the storage emulator: generations and preconditions."""

from __future__ import annotations

import time
import uuid

import pytest

from llmops.backends.base import ObjectStore
from llmops.backends.gcs import GcsObjectStore
from llmops.errors import ConfigError, ConflictError, NotFoundError, TransientError


def test_store_implements_the_interface(local_object_store: GcsObjectStore) -> None:
    """GcsObjectStore satisfies the ObjectStore protocol."""
    assert isinstance(local_object_store, ObjectStore)


def test_write_then_read_returns_bytes_type_metadata_and_generation(
    local_object_store: GcsObjectStore, local_bucket: str
) -> None:
    """A read returns what was written, with the generation the write returned."""
    generation = local_object_store.write(
        local_bucket,
        "docs/a.md",
        b"# title\n",
        content_type="text/markdown",
        metadata={"llmops-use-case": "hr"},
    )

    stored = local_object_store.read(local_bucket, "docs/a.md")

    assert stored.generation == generation > 0
    assert stored.data == b"# title\n"
    assert stored.content_type == "text/markdown"
    assert stored.metadata == {"llmops-use-case": "hr"}
    assert (stored.bucket, stored.name) == (local_bucket, "docs/a.md")


def test_overwrite_gives_a_new_generation(
    local_object_store: GcsObjectStore, local_bucket: str
) -> None:
    """Each write of the same name gets a larger generation."""
    first = local_object_store.write(local_bucket, "a.txt", b"one")
    second = local_object_store.write(local_bucket, "a.txt", b"two")

    assert second > first
    assert local_object_store.read(local_bucket, "a.txt").data == b"two"


def test_versioned_bucket_keeps_old_generations_readable(
    local_object_store: GcsObjectStore,
) -> None:
    """In a versioned bucket a read at an old generation returns its bytes."""
    bucket = f"versioned-{uuid.uuid4().hex[:8]}"
    local_object_store.ensure_bucket(bucket, versioned=True)
    first = local_object_store.write(bucket, "prompt.yaml", b"v1")
    second = local_object_store.write(bucket, "prompt.yaml", b"v2")

    assert local_object_store.read(bucket, "prompt.yaml", first).data == b"v1"
    assert local_object_store.read(bucket, "prompt.yaml", second).data == b"v2"
    assert local_object_store.read(bucket, "prompt.yaml").generation == second


def test_only_if_absent_conflicts_when_the_object_exists(
    local_object_store: GcsObjectStore, local_bucket: str
) -> None:
    """if_generation_match=0 writes a new object and conflicts on an existing one."""
    local_object_store.write(local_bucket, "lock", b"mine", if_generation_match=0)

    with pytest.raises(ConflictError, match="lock"):
        local_object_store.write(local_bucket, "lock", b"theirs", if_generation_match=0)
    assert local_object_store.read(local_bucket, "lock").data == b"mine"


def test_stale_generation_precondition_conflicts(
    local_object_store: GcsObjectStore, local_bucket: str
) -> None:
    """A write conditioned on a superseded generation raises ConflictError."""
    first = local_object_store.write(local_bucket, "state.json", b"1")
    second = local_object_store.write(
        local_bucket, "state.json", b"2", if_generation_match=first
    )

    with pytest.raises(ConflictError):
        local_object_store.write(
            local_bucket, "state.json", b"3", if_generation_match=first
        )
    assert local_object_store.read(local_bucket, "state.json").generation == second


def test_missing_object_and_generation_raise_not_found(
    local_object_store: GcsObjectStore, local_bucket: str
) -> None:
    """Reading a missing name, or a generation that never existed, is NotFound."""
    generation = local_object_store.write(local_bucket, "here.txt", b"x")

    with pytest.raises(NotFoundError, match="absent.txt"):
        local_object_store.read(local_bucket, "absent.txt")
    with pytest.raises(NotFoundError):
        local_object_store.read(local_bucket, "here.txt", generation + 12345)


def test_delete_removes_the_object_and_tolerates_a_missing_one(
    local_object_store: GcsObjectStore, local_bucket: str
) -> None:
    """Delete removes the live object; deleting it again is not an error."""
    local_object_store.write(local_bucket, "gone.txt", b"x")

    local_object_store.delete(local_bucket, "gone.txt")
    local_object_store.delete(local_bucket, "gone.txt")

    assert local_object_store.list(local_bucket) == []
    with pytest.raises(NotFoundError):
        local_object_store.read(local_bucket, "gone.txt")


def test_list_filters_by_prefix(
    local_object_store: GcsObjectStore, local_bucket: str
) -> None:
    """List returns the live names under a prefix, and all names without one."""
    for name in ("hr/a.txt", "hr/b.txt", "legal/c.txt"):
        local_object_store.write(local_bucket, name, b"x")

    assert sorted(local_object_store.list(local_bucket, "hr/")) == [
        "hr/a.txt",
        "hr/b.txt",
    ]
    assert len(local_object_store.list(local_bucket)) == 3
    assert local_object_store.list(local_bucket, "none/") == []


def test_unreachable_emulator_fails_fast_as_transient() -> None:
    """A refused connection becomes TransientError within seconds, not minutes."""
    store = GcsObjectStore.for_emulator("http://127.0.0.1:9", retry_seconds=1.0)
    started = time.monotonic()

    with pytest.raises(TransientError, match="unavailable"):
        store.read("any-bucket", "any-object")
    assert time.monotonic() - started < 10


def test_emulator_endpoint_must_be_a_url() -> None:
    """An endpoint without a scheme is a configuration error naming it."""
    with pytest.raises(ConfigError, match="127.0.0.1:4443"):
        GcsObjectStore.for_emulator("127.0.0.1:4443")


def test_platform_buckets_exist_and_only_prompts_is_versioned(
    local_object_store: GcsObjectStore,
) -> None:
    """The platform creates its three buckets; the prompts bucket keeps versions."""
    client = local_object_store.client

    assert client.get_bucket("llmops-prompts").versioning_enabled is True
    assert not client.get_bucket("llmops-docs").versioning_enabled
    assert not client.get_bucket("llmops-chunks").versioning_enabled
