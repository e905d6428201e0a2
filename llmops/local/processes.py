"""Child processes of the local platform: ports, spawning, readiness, stopping.

Every child runs in its own process group, writes to its own log file and is
known by pid plus the kernel's start time for it, so that a pid reused by an
unrelated process after a crash is never signalled.
"""

from __future__ import annotations

import errno
import http.client
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Limitation: the port is free when chosen, and another process may take it
    before the child binds it (the child then fails to start, and the error
    names it), until every child can bind port 0 and report what it got.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), if alive."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; fields follow the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def alive(pid: int, started: int | None = None) -> bool:
    """Whether ``pid`` runs and, if ``started`` is given, is that same process."""
    if pid <= 0:
        return False
    current = start_time(pid)
    if current is None:
        try:
            os.kill(pid, 0)
        except OSError as error:
            return error.errno == errno.EPERM
        # No /proc here: the signal check is all there is.
        return not Path("/proc/self").exists()
    return started is None or current == started


@dataclass(frozen=True)
class ProcessRecord:
    """A started child as platform.json keeps it."""

    name: str
    pid: int
    started: int | None
    log: str
    port: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ProcessRecord:
        """Read what ``to_json`` wrote."""
        return cls(
            name=str(doc["name"]),
            pid=int(doc["pid"]),
            started=doc.get("started"),
            log=str(doc["log"]),
            port=doc.get("port"),
        )

    def alive(self) -> bool:
        """Whether this very process still runs."""
        return alive(self.pid, self.started)


class Child:
    """One spawned process and its log."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Spawn the process in its own process group, output to its log."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        logger.info(
            "local.child_started name=%s pid=%d port=%s", self.name, self.pid, self.port
        )

    @property
    def pid(self) -> int:
        """The child's pid (it must have been started)."""
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def exited(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def record(self) -> ProcessRecord:
        """What platform.json keeps of this child."""
        return ProcessRecord(
            self.name, self.pid, start_time(self.pid), str(self.log), self.port
        )

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the child's process group, then SIGKILL what remains."""
        if self.process is None or self.process.poll() is not None:
            return
        terminate_group(self.pid, timeout=timeout, reap=self.process.wait)


def terminate_group(
    pid: int,
    *,
    timeout: float = 5.0,
    started: int | None = None,
    reap: Callable[[float], Any] | None = None,
) -> bool:
    """Stop the process group led by ``pid``; return whether it was running.

    ``started`` guards against a reused pid; ``reap`` waits for our own child.
    """
    if not alive(pid, started):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if reap is not None:
                try:
                    reap(0.05)
                    return True
                except subprocess.TimeoutExpired:
                    continue
            if not alive(pid, started):
                return True
            time.sleep(0.05)
        logger.warning("local.stop_escalated pid=%d signal=%s", pid, sig.name)
    return True


def tail(path: Path | str, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, or a note that it is empty."""
    try:
        with Path(path).open("rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 16_384))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    # Some emulators log one line of several kilobytes at start.
    kept = [
        line if len(line) <= 300 else line[:300] + " ..."
        for line in text.splitlines()[-lines:]
    ]
    return "\n".join(kept) if kept else "(empty log)"


def http_ready(url: str, timeout: float = 1.0) -> bool:
    """Whether ``url`` answers HTTP below 500 (any answer means it is serving)."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    connection = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)
    try:
        connection.request("GET", "/" + path)
        return connection.getresponse().status < 500
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def grpc_ready(port: int, timeout: float = 1.0) -> bool:
    """Whether a gRPC server accepts a channel on 127.0.0.1:``port``."""
    import grpc

    channel = grpc.insecure_channel(f"{LOOPBACK}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()
