"""The function source archive is named by its content, and only by it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra import source_archive
from llmops.errors import ConfigError


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A small stand-in for the llmops package."""
    root = tmp_path / "llmops"
    (root / "ingest").mkdir(parents=True)
    (root / "__init__.py").write_text('"""pkg"""\n')
    (root / "ingest" / "pipeline.py").write_text("STEPS = 3\n")
    return root


def test_archive_holds_the_function_at_its_root_and_the_package_beside_it(
    function_source: Path, package: Path
) -> None:
    """main.py and requirements.txt are at the root; the package keeps its name."""
    archive = source_archive.build(function_source, package)
    assert sorted(archive.files) == [
        "llmops/__init__.py",
        "llmops/ingest/pipeline.py",
        "main.py",
        "requirements.txt",
    ]


@pytest.mark.parametrize(
    "edit",
    ["main.py", "requirements.txt", "llmops/ingest/pipeline.py", "llmops/new.py"],
)
def test_name_changes_when_any_source_file_changes(
    edit: str, function_source: Path, package: Path
) -> None:
    """Editing or adding any file of the function or the package renames it."""
    before = source_archive.build(function_source, package).object_name
    root = package.parent if edit.startswith("llmops/") else function_source
    path = root / edit
    path.write_text((path.read_text() if path.exists() else "") + "# changed\n")
    after = source_archive.build(function_source, package).object_name
    assert after != before
    assert after.startswith("ingest-") and after.endswith(".zip")


def test_name_stays_when_nothing_but_timestamps_and_caches_change(
    function_source: Path, package: Path
) -> None:
    """Touching files or adding bytecode caches keeps the name, so no redeploy."""
    before = source_archive.build(function_source, package)
    os.utime(function_source / "main.py", (1, 1))
    cache = package / "__pycache__"
    cache.mkdir()
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    (function_source / "stale.pyc").write_bytes(b"\0")
    after = source_archive.build(function_source, package)
    assert after.object_name == before.object_name
    assert after.files.keys() == before.files.keys()


def test_moving_bytes_between_files_changes_the_name(
    function_source: Path, package: Path
) -> None:
    """The digest covers paths as well as contents."""
    (function_source / "a.py").write_text("xy")
    (function_source / "b.py").write_text("")
    first = source_archive.build(function_source, package).object_name
    (function_source / "a.py").write_text("x")
    (function_source / "b.py").write_text("y")
    assert source_archive.build(function_source, package).object_name != first


def test_a_function_without_requirements_is_refused(
    function_source: Path, package: Path
) -> None:
    """The functions cannot be built without requirements.txt."""
    (function_source / "requirements.txt").unlink()
    with pytest.raises(ConfigError, match=r"requirements\.txt"):
        source_archive.build(function_source, package)


@pulumi.runtime.test
def test_functions_build_from_the_uploaded_archive(
    declare_stack: Any, stack_values: Any, function_source: Path, package_dir: Path
) -> Any:
    """The uploaded object has the content-hash name both functions build from."""
    platform = declare_stack(stack_values["dev"])
    expected = source_archive.build(function_source, package_dir).object_name
    functions = list(platform.ingestion.functions.values())

    def check(args: list[Any]) -> None:
        uploaded, *builds = args
        assert uploaded == expected
        assert [b["source"]["storage_source"]["object"] for b in builds] == [
            expected,
            expected,
        ]

    return pulumi.Output.all(
        platform.ingestion.source_object, *[f.build_config for f in functions]
    ).apply(check)
