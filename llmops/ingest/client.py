"""The uploader's side of ingestion: put files in the docs bucket, then wait
for each generation's ingestion-events row."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmops.backends.base import ObjectStore, TableStore
from llmops.contract import METADATA_USE_CASE, TABLE_INGESTION_EVENTS
from llmops.errors import InputError

FINAL_STATUSES = ("done", "failed", "skipped")

_OUTCOMES_SQL = f"""
SELECT object, generation, status, reason, chunk_count, total_ms
FROM {{dataset}}.{TABLE_INGESTION_EVENTS}
WHERE event_type = 'finalized' AND object IN UNNEST(@objects)
"""


@dataclass(frozen=True)
class Upload:
    """A file put in the docs bucket: which generation it became."""

    path: Path
    name: str
    generation: int
    bytes: int


@dataclass(frozen=True)
class Result:
    """What ingestion made of one upload."""

    upload: Upload
    status: str
    reason: str | None
    chunks: int


def object_names(paths: Sequence[Path], prefix: str = "") -> list[tuple[Path, str]]:
    """(file, object name) for files and the files under folders, sorted."""
    parts = prefix.strip("/").split("/") if prefix.strip("/") else []
    if prefix.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise InputError(
            f"--prefix {prefix!r} must be a folder path such as handbook/2026, "
            "without a leading '/', '.' or '..' parts, or empty segments"
        )
    if any(ch in prefix for ch in "\r\n#[]*?"):
        raise InputError(
            f"--prefix {prefix!r} holds a character object names should not "
            "(line breaks, #, [, ], * or ?); use letters, digits, '-', '_', '/'"
        )
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    pairs = []
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                pairs.append((file, prefix + file.relative_to(path).as_posix()))
        elif path.is_file():
            pairs.append((path, prefix + path.name))
        else:
            raise InputError(f"{path} is not a file or folder; check the path")
    if not pairs:
        raise InputError("no files to ingest under the given paths")
    seen: dict[str, Path] = {}
    for file, name in pairs:
        if name in seen:
            raise InputError(
                f"{seen[name]} and {file} would both be uploaded as {name!r}, and "
                "the second would replace the first; pass their folder instead, "
                "or ingest them in separate calls with different --prefix values"
            )
        seen[name] = file
    return pairs


def upload(
    objects: ObjectStore,
    bucket: str,
    files: Iterable[tuple[Path, str]],
    *,
    use_case: str | None = None,
) -> list[Upload]:
    """Upload each file as an object and note its new generation."""
    uploads = []
    metadata = {METADATA_USE_CASE: use_case} if use_case else None
    for path, name in files:
        data = path.read_bytes()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        generation = objects.write(
            bucket, name, data, content_type=content_type, metadata=metadata
        )
        uploads.append(Upload(path, name, generation, len(data)))
    return uploads


def wait(
    tables: TableStore,
    uploads: Sequence[Upload],
    *,
    timeout: float = 600.0,
    poll: float = 0.5,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Poll the ingestion-events table until every upload has a final row."""
    pending = {(u.name, u.generation): u for u in uploads}
    results: dict[tuple[str, int], Result] = {}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        rows = tables.query(_OUTCOMES_SQL, {"objects": sorted({n for n, _ in pending})})
        for row in rows:
            key = (row["object"], int(row["generation"]))
            if key in pending and row["status"] in FINAL_STATUSES:
                result = Result(
                    pending.pop(key),
                    row["status"],
                    row["reason"],
                    row["chunk_count"] or 0,
                )
                results[key] = result
                if on_result:
                    on_result(result)
        if pending:
            time.sleep(poll)
    for key, upload_ in pending.items():
        results[key] = Result(
            upload_,
            "timeout",
            f"no ingestion row within {timeout:.0f} s; check `llmops local status` "
            "or the functions' logs",
            0,
        )
        if on_result:
            on_result(results[key])
    return [results[(u.name, u.generation)] for u in uploads]
