"""``LocalPlatform``: start, reuse, inspect and stop the embedded default.

The platform runs in a supervisor process (``llmops.local.supervisor``) so that
``llmops local up`` can return while it keeps running. This class spawns that
supervisor, waits until it reports every part healthy, reads what it wrote in
the state folder, and stops it and every child it started, by pid.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from llmops.errors import ConfigError, TransientError
from llmops.local import processes
from llmops.local.processes import ProcessRecord
from llmops.local.relay import RelayOptions
from llmops.local.state import (
    DEFAULT_STATE_DIR,
    DEFAULT_TTL_SECONDS,
    PlatformConfig,
    StateDir,
    default_function_source,
)
from llmops.settings import Settings

# How long a stop waits for the supervisor: it lets deliveries finish (30 s at
# most), then saves the storage, about 100 objects a second.
STOP_TIMEOUT_SECONDS = 300.0

logger = logging.getLogger(__name__)

ENV_STATE_DIR = "LLMOPS_STATE_DIR"
_DEFAULT = object()


@dataclass(frozen=True)
class Stopped:
    """One process that ``stop`` ended."""

    name: str
    pid: int


class LocalPlatform:
    """The embedded default: emulators, Milvus Lite, the function and the relay.

    ``function_source`` is the module functions-framework serves (the
    repository's ``functions/ingest/main.py`` by default; ``None`` serves no
    function and relays no events). ``stop_with_parent`` ties the platform's
    life to this process, as tests want; ``llmops local up`` turns it off.
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        *,
        function_source: Path | str | object | None = _DEFAULT,
        finalized_target: str = "on_object_finalized",
        deleted_target: str = "on_object_deleted",
        extra_env: Mapping[str, str] | None = None,
        relay: RelayOptions | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        stop_with_parent: bool = True,
        startup_timeout_seconds: float = 60.0,
    ) -> None:
        if state_dir is None:
            state_dir = os.environ.get(ENV_STATE_DIR) or DEFAULT_STATE_DIR
        self.state = StateDir(state_dir)
        if function_source is _DEFAULT:
            function_source = default_function_source()
        source: str | None = None
        if function_source is not None:
            path = Path(str(function_source)).resolve()
            if not path.is_file():
                raise ConfigError(
                    f"function source {path} does not exist; pass function_source "
                    "(--function-source) pointing at a functions-framework module, "
                    "or None to run without the function"
                )
            source = str(path)
        if ttl_seconds <= 0:
            raise ConfigError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self.config = PlatformConfig(
            function_source=source,
            finalized_target=finalized_target,
            deleted_target=deleted_target,
            function_env=dict(extra_env or {}),
            relay=relay or RelayOptions(),
            ttl_seconds=ttl_seconds,
            parent_pid=os.getpid() if stop_with_parent else None,
            startup_timeout_seconds=startup_timeout_seconds,
        )
        self._info: dict[str, Any] | None = None
        self._supervisor: subprocess.Popen[bytes] | None = None
        self.reused = False

    # -- Context manager -----------------------------------------------------

    def __enter__(self) -> LocalPlatform:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- Lifecycle -----------------------------------------------------------

    def start(self) -> LocalPlatform:
        """Start the platform, or reuse a healthy one in the same state folder."""
        existing = self.state.read(self.state.platform_file)
        if existing is not None:
            if self._healthy(existing):
                logger.info("local.reused state_dir=%s", self.state.root)
                self._info = existing
                self.reused = True
                return self
            logger.info("local.stale state_dir=%s", self.state.root)
            self._stop_recorded(existing)
        supervisor = self.state.read(self.state.supervisor_file)
        if supervisor is not None and processes.alive(
            int(supervisor["pid"]), supervisor.get("started")
        ):
            # Another start is under way in this folder: wait for it.
            self._info = self._wait(int(supervisor["pid"]), supervisor.get("started"))
            self.reused = True
            return self
        orphans = self.state.read(self.state.children_file)
        if orphans is not None:
            # A supervisor died while starting; its children may still run.
            self._stop_recorded(orphans)

        self.state.root.mkdir(parents=True, exist_ok=True)
        self.state.remove(
            self.state.platform_file,
            self.state.failure_file,
            self.state.supervisor_file,
            self.state.children_file,
        )
        self.state.write(self.state.request_file, self.config.to_json())
        log = self.state.log("supervisor")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self._supervisor = subprocess.Popen(
                [sys.executable, "-m", "llmops.local.supervisor", str(self.state.root)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid = self._supervisor.pid
        started = processes.start_time(pid)
        self.state.write(self.state.supervisor_file, {"pid": pid, "started": started})
        self._info = self._wait(pid, started)
        self.reused = False
        return self

    def _wait(self, pid: int, started: int | None) -> dict[str, Any]:
        deadline = time.monotonic() + self.config.startup_timeout_seconds + 30
        while time.monotonic() < deadline:
            info = self.state.read(self.state.platform_file)
            if info is not None and info.get("supervisor", {}).get("pid") == pid:
                return info
            if self._supervisor is not None:
                self._supervisor.poll()
            if not processes.alive(pid, started):
                raise self._startup_error()
            time.sleep(0.05)
        processes.terminate_group(pid, started=started)
        raise TransientError(
            f"the local platform in {self.state.root} did not report ready within "
            f"{self.config.startup_timeout_seconds + 30:.0f} s; see "
            f"{self.state.log('supervisor')}:\n"
            + processes.tail(self.state.log("supervisor"))
        )

    def _startup_error(self) -> TransientError:
        failure = self.state.read(self.state.failure_file)
        if failure is None:
            return TransientError(
                f"the local platform supervisor exited before it was ready; "
                f"its log {self.state.log('supervisor')} ends with:\n"
                + processes.tail(self.state.log("supervisor"))
            )
        where = (
            f"; its log {failure['log']} ends with:\n{failure['tail']}"
            if (failure.get("log"))
            else f"; see {self.state.log('supervisor')}"
        )
        return TransientError(
            f"local platform part {failure['part']!r} failed to start: "
            f"{failure['reason']}{where}"
        )

    def stop(self) -> list[Stopped]:
        """Stop the supervisor and every child it started; say which ran."""
        info = self._info or self.state.read(self.state.platform_file)
        children = info or self.state.read(self.state.children_file) or {}
        records = [
            ProcessRecord.from_json(doc) for doc in children.get("parts", {}).values()
        ]
        running = [record for record in records if record.alive()]
        stopped: list[Stopped] = []
        supervisor = self.state.read(self.state.supervisor_file) or (
            (info or {}).get("supervisor")
        )
        if supervisor is not None:
            pid = int(supervisor["pid"])
            reap = self._supervisor.wait if self._supervisor is not None else None
            # The supervisor stops its children itself; give it time to.
            if processes.terminate_group(
                pid,
                timeout=STOP_TIMEOUT_SECONDS,
                started=supervisor.get("started"),
                reap=reap,
            ):
                stopped.append(Stopped("supervisor", pid))
        for record in running:
            # Whatever the supervisor did not manage to stop, stop here.
            processes.terminate_group(record.pid, started=record.started)
            stopped.append(Stopped(record.name, record.pid))
        self.state.remove(
            self.state.platform_file,
            self.state.supervisor_file,
            self.state.children_file,
        )
        self._info = None
        self._supervisor = None
        return stopped

    def _stop_recorded(self, info: Mapping[str, Any]) -> list[Stopped]:
        """End what a state file lists that still runs (a crashed supervisor)."""
        stopped = []
        records = [
            ProcessRecord.from_json(doc) for doc in info.get("parts", {}).values()
        ]
        if "supervisor" in info:
            sup = info["supervisor"]
            records.insert(
                0, ProcessRecord("supervisor", int(sup["pid"]), sup.get("started"), "")
            )
        for record in records:
            if processes.terminate_group(record.pid, started=record.started):
                stopped.append(Stopped(record.name, record.pid))
        self.state.remove(self.state.platform_file, self.state.children_file)
        return stopped

    def _healthy(self, info: Mapping[str, Any]) -> bool:
        supervisor = info.get("supervisor", {})
        if not processes.alive(
            int(supervisor.get("pid", 0)), supervisor.get("started")
        ):
            return False
        parts = [ProcessRecord.from_json(doc) for doc in info.get("parts", {}).values()]
        if not all(record.alive() for record in parts):
            return False
        return processes.http_ready(f"{info['endpoints']['storage']}/storage/v1/b")

    # -- What a running platform offers ----------------------------------------

    def _running(self) -> dict[str, Any]:
        if self._info is None:
            info = self.state.read(self.state.platform_file)
            if info is None:
                raise ConfigError(
                    f"no local platform runs in {self.state.root}; start one with "
                    "`llmops local up` or LocalPlatform.start()"
                )
            self._info = info
        return self._info

    @property
    def info(self) -> dict[str, Any]:
        """Everything platform.json records: pids, ports, endpoints, env."""
        return dict(self._running())

    def env(self) -> dict[str, str]:
        """The environment that points a client at this platform."""
        return dict(self._running()["env"])

    def settings(self) -> Settings:
        """The runtime settings for this platform."""
        return Settings.from_env(self.env())

    @property
    def storage_endpoint(self) -> str:
        """The storage emulator's URL."""
        return str(self._running()["endpoints"]["storage"])

    @property
    def bigquery_endpoint(self) -> str:
        """The BigQuery emulator's REST URL."""
        return str(self._running()["endpoints"]["bigquery"])

    @property
    def milvus_uri(self) -> str:
        """The Milvus Lite server's URI."""
        return str(self._running()["endpoints"]["milvus"])

    @property
    def buckets(self) -> dict[str, str]:
        """Bucket names by role: docs, chunks, prompts."""
        return dict(self._running()["buckets"])

    def last_stop(self) -> dict[str, Any] | None:
        """When and why the platform in this folder last stopped, if it did."""
        return self.state.read(self.state.stop_file)

    def status(self) -> dict[str, Any]:
        """Whether each part runs, with its pid, port and log."""
        info = self.state.read(self.state.platform_file)
        if info is None:
            return {"state_dir": str(self.state.root), "running": False, "parts": {}}
        supervisor = info.get("supervisor", {})
        parts = {
            "supervisor": {
                "pid": supervisor.get("pid"),
                "alive": processes.alive(
                    int(supervisor.get("pid", 0)), supervisor.get("started")
                ),
                "log": str(self.state.log("supervisor")),
            }
        }
        for name, doc in info.get("parts", {}).items():
            record = ProcessRecord.from_json(doc)
            parts[name] = {
                "pid": record.pid,
                "alive": record.alive(),
                "port": record.port,
                "log": record.log,
            }
        return {
            "state_dir": str(self.state.root),
            "running": all(part["alive"] for part in parts.values()),
            "parts": parts,
            "endpoints": info.get("endpoints", {}),
            "started_at": info.get("started_at"),
            "expires_at": info.get("expires_at"),
            "startup_seconds": info.get("startup_seconds"),
        }

    @property
    def relay_log(self) -> Path:
        """The JSON-lines file with one record per delivery attempt."""
        return self.state.relay_log

    @property
    def dead_letter_file(self) -> Path:
        """The JSON-lines file of events that exhausted their attempts."""
        return self.state.dead_letter_file
