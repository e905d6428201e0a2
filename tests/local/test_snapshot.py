"""Saving and restoring the local platform's storage (llmops.local.snapshot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.backends.base import StoredObject
from llmops.errors import TransientError
from llmops.local import snapshot
from tests.ingest.fakes import MemoryObjectStore


def _store() -> MemoryObjectStore:
    store = MemoryObjectStore()
    store.write(
        "docs",
        "hr/leave policy.md",
        b"# Leave\n\nTwenty days.\n",
        content_type="text/markdown",
        metadata={"llmops-use-case": "hr"},
    )
    store.write("docs", "empty.txt", b"", content_type="text/plain")
    store.write("prompts", "templates/answer/versions/00000001.json", b"{}")
    return store


def test_save_then_restore_gives_the_same_objects_with_new_generations(
    tmp_path: Path,
) -> None:
    """Bytes, content type and metadata come back; generations are new."""
    source = _store()
    folder = tmp_path / "storage"
    assert snapshot.save(source, ["docs", "prompts", "chunks"], folder) == 3
    assert snapshot.exists(folder)
    assert snapshot.names(folder) == {
        ("docs", "hr/leave policy.md"),
        ("docs", "empty.txt"),
        ("prompts", "templates/answer/versions/00000001.json"),
    }

    target = MemoryObjectStore()
    for n in range(10):  # the target's generations run ahead of the source's
        target.write("other", f"x{n}", b"")
    generations = snapshot.restore(target, folder)

    for (bucket, name), generation in generations.items():
        before, after = source.read(bucket, name), target.read(bucket, name)
        assert (after.data, after.content_type, dict(after.metadata)) == (
            before.data,
            before.content_type,
            dict(before.metadata),
        )
        assert after.generation == generation != before.generation
    # Consumed: a second start does not restore it again.
    assert not snapshot.exists(folder)
    assert snapshot.exists(tmp_path / "storage-previous")


class _FailingReads(MemoryObjectStore):
    def read(
        self, bucket: str, name: str, generation: int | None = None
    ) -> StoredObject:
        if name == "empty.txt":
            raise TransientError("storage emulator went away")
        return super().read(bucket, name, generation)


def test_a_save_that_fails_half_way_leaves_the_last_complete_snapshot(
    tmp_path: Path,
) -> None:
    """No partial snapshot ever stands where a start would restore it."""
    folder = tmp_path / "storage"
    snapshot.save(_store(), ["docs"], folder)
    failing = _FailingReads()
    failing.live = dict(_store().live)
    failing.write("docs", "new.txt", b"new")
    with pytest.raises(TransientError):
        snapshot.save(failing, ["docs"], folder)
    assert snapshot.names(folder) == {
        ("docs", "hr/leave policy.md"),
        ("docs", "empty.txt"),
    }


def test_an_unreadable_snapshot_is_named_and_kept(tmp_path: Path) -> None:
    """A damaged index fails the restore naming the file, and writes nothing."""
    folder = tmp_path / "storage"
    snapshot.save(_store(), ["docs"], folder)
    (folder / "snapshot.json").write_text('{"format": 99, "objects": []}')
    target = MemoryObjectStore()
    with pytest.raises(ValueError, match=r"snapshot.json is a storage snapshot of"):
        snapshot.restore(target, folder)
    (folder / "snapshot.json").write_text("{truncated")
    with pytest.raises(ValueError, match=r"snapshot.json is not a readable snapshot"):
        snapshot.restore(target, folder)
    assert target.live == {} and snapshot.exists(folder)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"bucket": "docs", "name": "a", "file": "../../pseudonym.key"}, "outside"),
        ({"bucket": "docs", "name": "a"}, "has no file"),
        ("just text", "is not a mapping"),
        ({"bucket": "docs", "name": "a", "file": "x", "metadata": [1]}, "metadata"),
    ],
)
def test_a_snapshot_entry_of_the_wrong_shape_is_named(
    tmp_path: Path, entry: object, problem: str
) -> None:
    """Entries are checked before anything is written; files stay inside."""
    folder = tmp_path / "storage"
    snapshot.save(_store(), ["docs"], folder)
    index = json.loads((folder / "snapshot.json").read_text())
    index["objects"].append(entry)
    (folder / "snapshot.json").write_text(json.dumps(index))
    target = MemoryObjectStore()
    with pytest.raises(ValueError, match=rf"object 2 .*{problem}"):
        snapshot.restore(target, folder)
    assert target.live == {}


def test_a_folder_without_its_index_counts_as_damaged(tmp_path: Path) -> None:
    """Objects without snapshot.json are not taken for "no snapshot"."""
    folder = tmp_path / "storage"
    assert not snapshot.damaged(folder)
    snapshot.save(_store(), ["docs"], folder)
    assert not snapshot.damaged(folder)
    (folder / "snapshot.json").rename(tmp_path / "elsewhere.json")
    assert snapshot.damaged(folder) and not snapshot.exists(folder)
