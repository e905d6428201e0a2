"""A clean restart keeps the local platform's storage and index; a crash starts
both empty, so they never disagree.

One platform with the real ingestion function, started three times in the
same folder.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from llmops import runtime
from llmops.chunk_store import document_key
from llmops.contract import ENV_PROMPTS_BUCKET, TABLE_INGESTION_EVENTS
from llmops.contract import ENV_STORAGE_EMULATOR_HOST as STORAGE
from llmops.local import LocalPlatform
from llmops.local.processes import alive
from llmops.prompts import PromptRegistry, parse_template
from llmops.targets import local_target

TEXT = (
    "The lighthouse keeper logs the weather every morning. Fog horns sound when "
    "visibility drops below one nautical mile. "
) * 3
KEPT, GONE, LATE = "kb/lighthouse.txt", "kb/ferry.txt", "kb/harbour.txt"
WAITING, CUT = "kb/pier.txt", "kb/quay.txt"


class Stores:
    """The stores of one run of the platform (its ports change every run)."""

    def __init__(self, state: Path) -> None:
        self.target = local_target(state)
        self.settings = self.target.settings()
        self.objects = runtime.object_store(self.settings)
        self.tables = runtime.table_store(self.settings)
        self.index = runtime.vector_index(
            self.settings, create_dimensions=self.settings.embedding_dimensions
        )
        self.registry = PromptRegistry(
            self.objects, self.target.env[ENV_PROMPTS_BUCKET], events=self.tables
        )

    def upload(self, name: str, text: str) -> int:
        return self.objects.write(
            self.settings.docs_bucket, name, text.encode(), content_type="text/plain"
        )

    def rows(self, name: str) -> list[dict[str, Any]]:
        return self.tables.query(
            f"SELECT event_type, generation, status FROM "
            f"{{dataset}}.{TABLE_INGESTION_EVENTS} WHERE object = @name "
            "ORDER BY event_time",
            {"name": name},
        )

    def wait_for(self, name: str, status: str) -> None:
        deadline = time.monotonic() + 120
        while status not in [r["status"] for r in self.rows(name)]:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {status} row for {name}")
            time.sleep(0.25)

    def ids(self, name: str) -> list[str]:
        return self.index.ids_with_prefix(document_key(self.settings.docs_bucket, name))

    def top_hit(self, question: str) -> str | None:
        hits = runtime.build_retriever(self.settings).search(question, k=3)
        return hits[0].chunk.object if hits else None


@contextmanager
def running(state: Path) -> Iterator[tuple[LocalPlatform, Stores]]:
    """Start the platform in ``state`` with the stores' environment set."""
    platform = LocalPlatform(state, ttl_seconds=900).start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STORAGE, platform.env()[STORAGE])
        yield platform, Stores(state)


def test_clean_restart_keeps_documents_index_and_prompts_and_a_crash_clears_both(
    tmp_path: Path,
) -> None:
    """Stop/start keeps what was stored without re-ingesting; a crash forgets both."""
    template = parse_template(
        {
            "name": "answer",
            "model": "gemini-2.0-flash",
            "variables": {"question": "the question"},
            "template": "Answer {{ question }}.",
        }
    )
    with running(tmp_path) as (platform, stores):
        stores.upload(KEPT, TEXT)
        stores.upload(GONE, "The ferry leaves at nine. " * 5)
        stores.upload(CUT, "The quay lights switch on at dusk. " * 5)
        for name in (KEPT, GONE, CUT):
            stores.wait_for(name, "done")
        assert stores.ids(CUT)
        kept_ids = stores.ids(KEPT)
        stores.registry.push(template, author="ana")
        stores.registry.promote("answer", 1, "prod", author="ana")
        platform.stop()
    index_file = tmp_path / "storage" / "snapshot.json"
    index = json.loads(index_file.read_text())
    assert index["objects"]
    # A document saved before its ingestion ran (the stop came first).
    (tmp_path / "storage" / "objects" / "waiting").write_text(
        "The pier is closed for repairs until the spring tides pass. " * 4
    )
    index["objects"].append(
        {
            "bucket": "llmops-docs",
            "name": WAITING,
            "file": "waiting",
            "generation": 1234,
            "content_type": "text/plain",
            "metadata": {},
        }
    )
    # A document deleted just before the stop, its delete event not yet
    # handled: gone from the saved storage, its chunks still indexed.
    index["objects"] = [
        e for e in index["objects"] if (e["bucket"], e["name"]) != ("llmops-docs", CUT)
    ]
    index_file.write_text(json.dumps(index))

    with running(tmp_path) as (platform, stores):
        assert platform.info["restored_objects"] >= 6
        assert stores.ids(KEPT) == kept_ids
        assert stores.top_hit("when do fog horns sound?") == KEPT
        assert stores.registry.resolve("answer@prod").version == 1
        # The one never ingested is ingested now; the others are not again.
        stores.wait_for(WAITING, "done")
        assert stores.top_hit("is the pier open?") == WAITING
        # The cut-short delete is handled now.
        stores.wait_for(CUT, "deleted")
        assert stores.ids(CUT) == []
        assert platform.info["started_empty_after_crash"] is False
        assert [r["status"] for r in stores.rows(KEPT)] == ["done"]

        # What was restored behaves as stored: a delete removes its chunks.
        stores.objects.delete(stores.settings.docs_bucket, GONE)
        stores.wait_for(GONE, "deleted")
        assert stores.ids(GONE) == []
        stores.upload(LATE, "The harbour master opens the gates at dawn. " * 5)
        stores.wait_for(LATE, "done")
        supervisor = platform.info["supervisor"]["pid"]

    # A crash writes no snapshot: the next start begins with storage and
    # index empty together, so no datapoint outlives its chunk text.
    os.kill(supervisor, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while alive(supervisor) and time.monotonic() < deadline:
        time.sleep(0.1)
    with running(tmp_path) as (platform, stores):
        try:
            assert platform.info["restored_objects"] == 0
            assert platform.info["started_empty_after_crash"] is True
            assert stores.objects.list(stores.settings.docs_bucket) == []
            assert stores.ids(LATE) == [] and stores.ids(KEPT) == []
            assert stores.registry.names() == []
            # Monitoring history is kept whatever happened.
            assert [r["status"] for r in stores.rows(KEPT)] == ["done"]
        finally:
            platform.stop()


def test_an_index_milvus_cannot_read_back_is_rebuilt_from_the_saved_documents(
    tmp_path: Path,
) -> None:
    """Truncated index files (a Milvus killed while writing) cost a re-ingestion,
    never a platform that will not start or a search over half an index."""
    with running(tmp_path) as (platform, stores):
        stores.upload(KEPT, TEXT)
        stores.wait_for(KEPT, "done")
        platform.stop()
    damaged = list((tmp_path / "milvus").rglob("*.idx"))
    assert damaged, "the flushed index has files on disk"
    for path in damaged:
        path.write_bytes(path.read_bytes()[:16])

    with running(tmp_path) as (platform, stores):
        try:
            deadline = time.monotonic() + 120
            while [r["status"] for r in stores.rows(KEPT)] != ["done", "done"]:
                assert time.monotonic() < deadline, "the document was not re-ingested"
                time.sleep(0.25)
            assert stores.top_hit("when do fog horns sound?") == KEPT
        finally:
            platform.stop()
