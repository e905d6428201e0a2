"""The local platform's storage, kept across restarts.

The storage emulator holds objects in memory (its filesystem backend refuses
versioned buckets, which the prompt registry needs). So that documents, chunk
text and prompt templates outlive a restart, the supervisor saves the live
objects of every bucket when it stops cleanly and writes them back when it
next starts, before the platform is announced ready.

The vector index lives on disk beside it, and the two must agree: datapoints
whose chunk text is gone cannot be resolved or retired. A start therefore
keeps the index only when it restores a snapshot written by the stop that
closed the index. Restoring consumes the snapshot (it is moved aside as
``storage-previous``), so after a crash, which writes none, the next start
finds no snapshot and begins with both empty, as a first start does.

A restored object gets a new generation, as a copy does in Cloud Storage.
Only live objects are saved: the registry's noncurrent generations are not,
though every version stays one object of its own. The finalize
notification a restored document causes is not delivered when the document
was indexed at the saved generation (see ``EventRelay.ignore``); one that
was not (its ingestion had not finished when the platform stopped) is
delivered, so it is ingested now.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llmops.backends.base import ObjectStore

logger = logging.getLogger(__name__)

FORMAT = 1
_INDEX = "snapshot.json"


def save(store: ObjectStore, buckets: Iterable[str], folder: Path) -> int:
    """Write every live object of ``buckets`` under ``folder``; return the count.

    The snapshot is written beside ``folder`` and renamed into place, so a
    stop that dies half-way leaves no snapshot rather than part of one.
    """
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "objects").mkdir(parents=True)
    entries: list[dict[str, Any]] = []
    for bucket in buckets:
        for name in store.list(bucket):
            stored = store.read(bucket, name)
            file = f"{len(entries):08d}"
            (partial / "objects" / file).write_bytes(stored.data)
            entries.append(
                {
                    "bucket": bucket,
                    "name": name,
                    "file": file,
                    "generation": stored.generation,
                    "content_type": stored.content_type,
                    "metadata": dict(stored.metadata),
                }
            )
    index = {"format": FORMAT, "objects": entries}
    (partial / _INDEX).write_text(json.dumps(index, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return len(entries)


def exists(folder: Path) -> bool:
    """Whether ``folder`` holds a complete snapshot."""
    return (folder / _INDEX).is_file()


def names(folder: Path) -> set[tuple[str, str]]:
    """The (bucket, object) pairs a snapshot holds."""
    return set(generations(folder))


def generations(folder: Path) -> dict[tuple[str, str], int]:
    """Each saved object's generation when it was saved."""
    return {
        (e["bucket"], e["name"]): int(e.get("generation") or 0)
        for e in _read_index(folder)["objects"]
    }


def restore(
    store: ObjectStore,
    folder: Path,
    buckets: Iterable[str] | None = None,
    *,
    consume: bool = True,
) -> dict[tuple[str, str], int]:
    """Write a snapshot's objects back; return each one's new generation.

    ``buckets`` limits the restore to those buckets (all when None). The
    buckets must exist. With ``consume``, the snapshot is moved to
    ``storage-previous`` beside it once the objects are written; a failure
    leaves it in place.
    """
    index = _read_index(folder)
    chosen = None if buckets is None else set(buckets)
    written: dict[tuple[str, str], int] = {}
    for entry in index["objects"]:
        if chosen is not None and entry["bucket"] not in chosen:
            continue
        data = (folder / "objects" / entry["file"]).read_bytes()
        written[entry["bucket"], entry["name"]] = store.write(
            entry["bucket"],
            entry["name"],
            data,
            content_type=entry.get("content_type") or "application/octet-stream",
            metadata=entry.get("metadata") or None,
        )
    if consume:
        consume_snapshot(folder)
    return written


def consume_snapshot(folder: Path) -> None:
    """Move a restored snapshot aside, as ``storage-previous``, so that a start
    after a crash finds none to restore."""
    previous = folder.with_name(folder.name + "-previous")
    shutil.rmtree(previous, ignore_errors=True)
    os.replace(folder, previous)


def _read_index(folder: Path) -> dict[str, Any]:
    path = folder / _INDEX
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable snapshot: {error}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise ValueError(
            f"{path} is a storage snapshot of another format "
            f"({index.get('format') if isinstance(index, dict) else '?'}); "
            f"this version reads format {FORMAT}"
        )
    entries = index.get("objects")
    if not isinstance(entries, list):
        raise ValueError(f"{path} has no list of objects")
    for position, entry in enumerate(entries):
        problem = _entry_problem(entry)
        if problem:
            raise ValueError(f"{path}: object {position} {problem}")
    return index


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "is not a mapping"
    for key in ("bucket", "name", "file"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            return f"has no {key}"
    # Object files live in the snapshot's own objects/ folder, by plain name.
    if "/" in entry["file"] or entry["file"] in (".", ".."):
        return f"names file {entry['file']!r} outside the snapshot's objects folder"
    if not isinstance(entry.get("metadata") or {}, dict):
        return "has metadata that is not a mapping"
    return None


def damaged(folder: Path) -> bool:
    """Whether ``folder`` exists but holds no complete snapshot.

    A start refuses it rather than treat it as no snapshot, which would empty
    the index and, at the next stop, replace the objects left in it.
    """
    return folder.exists() and not exists(folder)
