"""Fixtures shared by every test area: the local platform and clients on it.

- ``local_platform``: the whole embedded default, with the repository's
  ingestion function, as ``llmops local up`` runs it; one per session.
- ``local_emulators``: storage, BigQuery and Milvus Lite only (no function,
  no events), for tests of backends and of code that only reads and writes.
- ``start_local_platform``: starts further platforms with other arguments
  (another function module, relay options) and stops them at session end.
- ``local_object_store`` / ``local_table_store``: backends on the emulators.
- ``local_bucket`` / ``local_tables``: a fresh bucket, a fresh dataset with
  every contract table, for tests that must not see each other's data.
- ``local_platform_env``: the platform's env() set in ``os.environ`` for one
  test (restored after it).

Every platform lives in a temporary folder and stops with the session; its
supervisor also stops by itself if this process dies.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmops.backends.bigquery import BigQueryTableStore
from llmops.backends.gcs import GcsObjectStore
from llmops.local import LocalPlatform

# Enough for every test session; the supervisor stops itself after this.
_SESSION_TTL_SECONDS = 2 * 3600.0
_names = itertools.count(1)


@pytest.fixture(scope="session")
def start_local_platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., LocalPlatform]]:
    """Start a LocalPlatform in a fresh temporary folder; all stop at the end."""
    started: list[LocalPlatform] = []

    def start(**kwargs: Any) -> LocalPlatform:
        kwargs.setdefault("ttl_seconds", _SESSION_TTL_SECONDS)
        state_dir = tmp_path_factory.mktemp("local-platform")
        platform = LocalPlatform(state_dir, **kwargs)
        started.append(platform)
        return platform.start()

    yield start
    for platform in reversed(started):
        platform.stop()


@pytest.fixture(scope="session")
def local_platform(start_local_platform: Callable[..., LocalPlatform]) -> LocalPlatform:
    """The embedded default with the real ingestion function, for the session."""
    return start_local_platform()


@pytest.fixture(scope="session")
def local_emulators(
    start_local_platform: Callable[..., LocalPlatform],
) -> LocalPlatform:
    """Storage, BigQuery and Milvus Lite, without a function, for the session."""
    return start_local_platform(function_source=None)


@pytest.fixture(scope="session")
def local_object_store(local_emulators: LocalPlatform) -> GcsObjectStore:
    """A GcsObjectStore on the storage emulator."""
    return GcsObjectStore.for_emulator(local_emulators.storage_endpoint)


@pytest.fixture(scope="session")
def local_table_store(local_emulators: LocalPlatform) -> BigQueryTableStore:
    """A BigQueryTableStore on the emulator's ``llmops`` dataset."""
    settings = local_emulators.settings()
    return BigQueryTableStore.for_emulator(
        local_emulators.bigquery_endpoint, settings.project or "local", settings.dataset
    )


@pytest.fixture
def local_bucket(local_object_store: GcsObjectStore) -> str:
    """The name of a new, empty, unversioned bucket on the storage emulator."""
    name = f"test-{next(_names)}-{uuid.uuid4().hex[:8]}"
    local_object_store.ensure_bucket(name)
    return name


@pytest.fixture
def local_tables(local_emulators: LocalPlatform) -> BigQueryTableStore:
    """A BigQueryTableStore on a new dataset holding every contract table."""
    store = BigQueryTableStore.for_emulator(
        local_emulators.bigquery_endpoint,
        "local",
        f"test_{next(_names)}_{uuid.uuid4().hex[:8]}",
    )
    store.ensure_tables()
    return store


@pytest.fixture
def local_platform_env(
    local_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Set the session platform's env() for one test and return it."""
    env = local_platform.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
