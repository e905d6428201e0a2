"""Starting and stopping the local platform: CLI, reuse, stale state, limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from llmops.errors import ConfigError, TransientError
from llmops.local import LocalPlatform
from llmops.local.processes import alive

_LLMOPS = str(Path(sys.executable).with_name("llmops"))
_FUNCTION = Path(__file__).with_name("recording_function.py")


def _llmops(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_LLMOPS, "local", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _group_members(leaders: set[int]) -> set[int]:
    """Pids of live processes whose process group is led by one of ``leaders``."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in leaders:
            members.add(int(entry.name))
    return members


def _recorded_pids(state_dir: Path) -> dict[str, int]:
    info = json.loads((state_dir / "platform.json").read_text())
    pids = {name: part["pid"] for name, part in info["parts"].items()}
    pids["supervisor"] = info["supervisor"]["pid"]
    return pids


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_cli_up_reuse_status_down_leaves_no_process_behind(tmp_path: Path) -> None:
    """`up` returns with the platform running, `down` ends every process it started."""
    state = tmp_path / "state"

    started = _llmops(
        "up",
        "--state-dir",
        str(state),
        "--function-source",
        str(_FUNCTION),
        "--ttl",
        "600",
    )
    assert started.returncode == 0, started.stderr
    assert "started the platform" in started.stderr
    # stdout is only the environment, for `eval "$(llmops local up)"`.
    exports = started.stdout.splitlines()
    assert exports and all(line.startswith("export ") for line in exports)
    assert "export STORAGE_EMULATOR_HOST=http://127.0.0.1:" in started.stdout
    pids = _recorded_pids(state)
    assert set(pids) == {
        "supervisor",
        "storage",
        "bigquery",
        "milvus",
        "function-finalized",
        "function-deleted",
    }
    # The function processes fork workers: count whole process groups.
    members = _group_members(set(pids.values()))
    assert set(pids.values()) <= members

    again = _llmops(
        "up", "--state-dir", str(state), "--function-source", str(_FUNCTION)
    )
    assert again.returncode == 0, again.stderr
    assert "reused the platform" in again.stderr
    assert _recorded_pids(state) == pids

    status = _llmops("status", "--state-dir", str(state))
    assert status.returncode == 0, status.stdout
    assert "running" in status.stdout

    stopped = _llmops("down", "--state-dir", str(state))
    assert stopped.returncode == 0, stopped.stderr
    for name, pid in pids.items():
        assert f"stopped {name} (pid {pid})" in stopped.stdout
    assert "the next `llmops local up` restores them" in stopped.stdout
    assert not _group_members(set(pids.values()))
    assert not (state / "platform.json").exists()

    after = _llmops("status", "--state-dir", str(state))
    assert after.returncode == 1
    assert "no platform" in after.stdout
    assert "(asked to stop);" in after.stdout and "objects saved" in after.stdout
    assert "nothing was running" in _llmops("down", "--state-dir", str(state)).stdout


def test_a_stale_platform_is_cleaned_up_and_replaced(tmp_path: Path) -> None:
    """After the supervisor died, start() stops its orphans and starts afresh."""
    first = LocalPlatform(tmp_path, function_source=None).start()
    old = _recorded_pids(tmp_path)
    os.kill(old["supervisor"], signal.SIGKILL)
    _wait_until(lambda: not alive(old["supervisor"]))

    second = LocalPlatform(tmp_path, function_source=None)
    try:
        second.start()
        new = _recorded_pids(tmp_path)

        assert not second.reused
        assert not _group_members(set(old.values()))
        assert all(alive(pid) for pid in new.values())
        assert set(new.values()).isdisjoint(old.values())
    finally:
        second.stop()
        first.stop()


def test_startup_failure_names_the_part_and_shows_its_log(tmp_path: Path) -> None:
    """A function that cannot load fails start() naming it, with its log's tail."""
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('broken-at-import')\n")
    platform = LocalPlatform(tmp_path / "state", function_source=broken)

    with pytest.raises(TransientError) as caught:
        platform.start()

    message = str(caught.value)
    assert "function-finalized" in message or "function-deleted" in message
    assert "broken-at-import" in message
    assert not (tmp_path / "state" / "platform.json").exists()
    supervisor = json.loads((tmp_path / "state" / "supervisor.json").read_text())
    assert not alive(supervisor["pid"])


def test_the_platform_stops_itself_when_its_time_to_live_ends(tmp_path: Path) -> None:
    """With a short TTL every process ends without anyone calling stop()."""
    platform = LocalPlatform(tmp_path, function_source=None, ttl_seconds=1.0)
    platform.start()
    pids = _recorded_pids(tmp_path)

    _wait_until(lambda: not _group_members(set(pids.values())))

    assert not (tmp_path / "platform.json").exists()
    assert platform.status()["running"] is False


def test_the_platform_stops_when_the_process_that_started_it_ends(
    tmp_path: Path,
) -> None:
    """A platform tied to its parent stops once the parent exits without stop()."""
    script = textwrap.dedent(
        f"""
        import os
        from llmops.local import LocalPlatform
        LocalPlatform({str(tmp_path)!r}, function_source=None).start()
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=90)
    pids = _recorded_pids(tmp_path)

    _wait_until(lambda: not _group_members(set(pids.values())))


def test_missing_function_source_is_a_config_error(tmp_path: Path) -> None:
    """A function source that does not exist is refused before anything starts."""
    with pytest.raises(ConfigError, match="no-such.py"):
        LocalPlatform(tmp_path, function_source=tmp_path / "no-such.py")


def test_env_before_start_says_how_to_start(tmp_path: Path) -> None:
    """Asking a platform that is not running for env() explains how to start one."""
    with pytest.raises(ConfigError, match="llmops local up"):
        LocalPlatform(tmp_path, function_source=None).env()


def test_settings_read_the_platform_environment(local_emulators: LocalPlatform) -> None:
    """settings() gives the local backends and the platform's endpoints."""
    settings = local_emulators.settings()

    assert settings.embedding_backend == "local"
    assert settings.vector_backend == "milvus"
    assert settings.milvus_uri == local_emulators.milvus_uri
    assert settings.bigquery_endpoint == local_emulators.bigquery_endpoint
    assert settings.docs_bucket == "llmops-docs"
    assert local_emulators.env()["STORAGE_EMULATOR_HOST"] == (
        local_emulators.storage_endpoint
    )


def test_state_dir_comes_from_the_environment_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a state_dir argument, LLMOPS_STATE_DIR names the folder."""
    monkeypatch.setenv("LLMOPS_STATE_DIR", str(tmp_path / "from-env"))

    platform = LocalPlatform(function_source=None)

    assert platform.state.root == (tmp_path / "from-env").resolve()


def test_children_of_a_supervisor_that_died_while_starting_are_stopped(
    tmp_path: Path,
) -> None:
    """Pids listed in children.json, left by a dead supervisor, end at next start."""
    orphan = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        (tmp_path / "children.json").write_text(
            json.dumps(
                {
                    "parts": {
                        "storage": {
                            "name": "storage",
                            "pid": orphan.pid,
                            "started": None,
                            "log": "",
                        }
                    }
                }
            )
        )
        platform = LocalPlatform(tmp_path, function_source=None)
        try:
            platform.start()
            assert orphan.wait(timeout=10) is not None
        finally:
            platform.stop()
    finally:
        if orphan.poll() is None:
            orphan.kill()


def test_running_platform_restores_a_damaged_record(start_local_platform) -> None:
    """A deleted or damaged platform.json is rewritten while the platform runs."""
    import json
    import time

    platform = start_local_platform(function_source=None)
    record = platform.state.platform_file
    expected = json.loads(record.read_text())
    record.write_text("garbage")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if json.loads(record.read_text()) == expected:
                break
        except ValueError:
            pass
        time.sleep(0.2)
    assert json.loads(record.read_text()) == expected


def test_a_storage_folder_without_its_snapshot_index_is_refused(tmp_path: Path) -> None:
    """A start does not take a damaged saved storage for none, nor empty it."""
    saved = tmp_path / "storage" / "objects"
    saved.mkdir(parents=True)
    (saved / "00000000").write_text("a saved document")
    platform = LocalPlatform(tmp_path, function_source=None, ttl_seconds=60)
    with pytest.raises(TransientError, match="holds no snapshot.json"):
        platform.start()
    assert (saved / "00000000").read_text() == "a saved document"
    assert not (tmp_path / "platform.json").exists()
