"""The local platform's state folder and the request its supervisor reads.

Everything a running platform owns lives under one folder::

    platform.json       pids, ports, endpoints and env(), once every part is up
    supervisor.json     the supervisor's pid, from the moment it is spawned
    children.json       the children's pids, from the moment they are spawned
    request.json        what to start (a PlatformConfig)
    startup-failure.json  which part failed to start, and the tail of its log
    last-stop.json      when and why the platform last stopped, what it saved
    relay.jsonl         one line per delivery attempt
    dead-letter.jsonl   events that exhausted their attempts
    logs/<part>.log     each process's output
    bigquery/  milvus/  the emulators' data
    storage/            the buckets' objects, saved at the last clean stop
    storage-previous/   the snapshot the last start restored
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.local.relay import RelayOptions

DEFAULT_STATE_DIR = Path(".llmops") / "local"
DEFAULT_TTL_SECONDS = 4 * 3600.0
PROJECT = "local"
DOCS_BUCKET = "llmops-docs"
CHUNKS_BUCKET = "llmops-chunks"
PROMPTS_BUCKET = "llmops-prompts"
DATASET = "llmops"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def default_function_source() -> Path:
    """The repository's ingestion function, next to the installed package."""
    return Path(__file__).resolve().parents[2] / "functions" / "ingest" / "main.py"


@dataclass(frozen=True)
class PlatformConfig:
    """What the supervisor starts, written to ``request.json`` by the client."""

    # None serves no function: storage events are then not relayed at all.
    function_source: str | None
    finalized_target: str = "on_object_finalized"
    deleted_target: str = "on_object_deleted"
    function_env: Mapping[str, str] = field(default_factory=dict)
    relay: RelayOptions = field(default_factory=RelayOptions)
    ttl_seconds: float = DEFAULT_TTL_SECONDS
    # The supervisor stops when this process ends (None: it outlives its caller).
    parent_pid: int | None = None
    startup_timeout_seconds: float = 60.0
    project: str = PROJECT
    docs_bucket: str = DOCS_BUCKET
    chunks_bucket: str = CHUNKS_BUCKET
    prompts_bucket: str = PROMPTS_BUCKET
    dataset: str = DATASET
    embedding_model: str = EMBEDDING_MODEL

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        doc = dict(self.__dict__)
        doc["function_env"] = dict(self.function_env)
        doc["relay"] = self.relay.to_json()
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PlatformConfig:
        """Read what ``to_json`` wrote."""
        values = dict(doc)
        values["relay"] = RelayOptions.from_json(values.get("relay", {}))
        return cls(**values)


class StateDir:
    """Paths inside one platform's state folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    @property
    def platform_file(self) -> Path:
        return self.root / "platform.json"

    @property
    def supervisor_file(self) -> Path:
        return self.root / "supervisor.json"

    @property
    def children_file(self) -> Path:
        return self.root / "children.json"

    @property
    def request_file(self) -> Path:
        return self.root / "request.json"

    @property
    def failure_file(self) -> Path:
        return self.root / "startup-failure.json"

    @property
    def stop_file(self) -> Path:
        """When and why the supervisor last stopped, and what it saved."""
        return self.root / "last-stop.json"

    @property
    def relay_log(self) -> Path:
        return self.root / "relay.jsonl"

    @property
    def dead_letter_file(self) -> Path:
        return self.root / "dead-letter.jsonl"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, part: str) -> Path:
        """The log file of one part."""
        return self.logs / f"{part}.log"

    def read(self, path: Path) -> dict[str, Any] | None:
        """A JSON state file, or None when it is missing or half written."""
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def write(self, path: Path, doc: Mapping[str, Any]) -> None:
        """Write a JSON state file atomically (readers never see half of it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(doc, indent=2, sort_keys=True))
        partial.replace(path)

    def remove(self, *paths: Path) -> None:
        """Delete state files that may not exist."""
        for path in paths:
            path.unlink(missing_ok=True)
