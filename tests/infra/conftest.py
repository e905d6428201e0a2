"""Fixtures for the Pulumi program's tests, all under Pulumi's mocks.

- ``mock_monitor``: mocks installed for one test (root stack and config
  restored after it); the monitor keeps every registration's request.
- ``function_source``: a throwaway ingestion-function directory.
- ``stack_values``: the raw config of the example dev and prod stack files.
- ``declare_stack``: validate stack values and declare the whole platform.
- ``settled``: an Output that runs a check once given resources registered.
- ``project_snapshot`` / ``project_copy``: a frozen copy of the program,
  function source and package, and a project directory around it for
  ``capture`` (with a valid Pulumi.yaml).
- ``package_dir``: the snapshot's llmops package, for the source archive.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # pulumi_gcp warns about deprecations of its own at import.
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulumi
    import pulumi_gcp  # noqa: F401

from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings
from pulumi.runtime.mocks import set_mocks

from infra import config as stack_config
from infra.__main__ import Platform, declare
from llmops import plan

REPO = Path(__file__).resolve().parents[2]
PROJECT_NAME = "llmops-platform"
Registration = dict[str, Any]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore pulumi_gcp's own DeprecationWarnings in this area's tests."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(
                pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp")
            )


@pytest.fixture
def mock_monitor() -> Iterator[Any]:
    """Pulumi mocks for one test; the root stack and config are restored after."""
    root_token = settings.ROOT.set(None)
    config_token = runtime_config.CONFIG.set({})
    mocks = plan.platform_mocks("acme-llmops-dev", "us-central1")
    monitor = plan.recording_monitor(mocks)
    set_mocks(mocks, project=PROJECT_NAME, stack="dev", preview=False, monitor=monitor)
    yield monitor
    runtime_config.CONFIG.reset(config_token)
    settings.ROOT.reset(root_token)


@pytest.fixture
def function_source(tmp_path: Path) -> Path:
    """A minimal ingestion-function directory: main.py and requirements.txt."""
    directory = tmp_path / "ingest"
    directory.mkdir()
    (directory / "main.py").write_text("def on_object_finalized(event):\n    pass\n")
    (directory / "requirements.txt").write_text("functions-framework==3.10.2\n")
    return directory


@pytest.fixture(scope="session")
def stack_values() -> dict[str, dict[str, str]]:
    """The example stacks' config, as the engine would pass it, by stack name."""
    return {
        name: plan.stack_config(REPO / f"Pulumi.{name}.yaml")
        for name in ("dev", "prod")
    }


@pytest.fixture
def package_dir(project_snapshot: Path) -> Path:
    """The snapshot's copy of the llmops package, for the source archive."""
    return project_snapshot / "llmops"


@pytest.fixture
def declare_stack(
    mock_monitor: Any, function_source: Path, package_dir: Path
) -> Callable[..., Platform]:
    """Validate stack values (with overrides) and declare the platform."""

    def run(
        values: Mapping[str, str], stack: str = "dev", **overrides: str
    ) -> Platform:
        merged = {**values, **{f"llmops:{k}": v for k, v in overrides.items()}}
        config = stack_config.load(merged, stack)
        return declare(config, function_dir=function_source, package_dir=package_dir)

    return run


@pytest.fixture
def settled(
    mock_monitor: Any,
) -> Callable[[list[pulumi.CustomResource], Callable[[list[Registration]], None]], Any]:
    """An Output that runs `check` on the registrations once all are made."""

    def run(
        resources: list[pulumi.CustomResource],
        check: Callable[[list[Registration]], None],
    ) -> pulumi.Output[None]:
        def on_urns(urns: list[str]) -> None:
            check([mock_monitor.registrations[urn] for urn in urns])

        return pulumi.Output.all(*[r.urn for r in resources]).apply(on_urns)

    return run


@pytest.fixture(scope="session")
def project_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frozen copy of the program, the function source and the package, so
    plans taken a moment apart see the same files while the checkout changes."""
    root = tmp_path_factory.mktemp("snapshot")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("infra", "llmops", "functions/ingest", "policies"):
        shutil.copytree(REPO / part, root / part, ignore=skip)
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(REPO / name, root / name)
    return root


@pytest.fixture
def project_copy(project_snapshot: Path, tmp_path: Path) -> Path:
    """A project directory: a valid Pulumi.yaml, the stack files and the
    snapshot's program, function source and package."""
    root = tmp_path / "project"
    shutil.copytree(project_snapshot, root, symlinks=True)
    (root / "Pulumi.yaml").write_text(
        f"name: {PROJECT_NAME}\nruntime: python\nmain: infra/\n"
    )
    return root
