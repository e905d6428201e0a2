"""The ingestion functions' source, as an archive named by its content.

The archive holds the function directory's files at its root and the `llmops`
package beside them, so `import llmops` works in the function. Its name is a
hash of exactly those files' paths and bytes: it changes when any of them
changes, and only then, so a deploy happens when the code changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi

from llmops.errors import ConfigError

# Files that are build products, not source.
_SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
REQUIRED_FUNCTION_FILES = ("main.py", "requirements.txt")


@dataclass(frozen=True)
class SourceArchive:
    """The files to upload, their digest and the object name it gives."""

    files: dict[str, Path]
    digest: str

    @property
    def object_name(self) -> str:
        return f"ingest-{self.digest[:24]}.zip"

    def asset(self) -> pulumi.AssetArchive:
        """The archive Pulumi zips and uploads."""
        return pulumi.AssetArchive(
            {name: pulumi.FileAsset(str(path)) for name, path in self.files.items()}
        )


def _files(root: Path, prefix: str) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or _SKIPPED_DIRS.intersection(relative.parts):
            continue
        if path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        found[prefix + relative.as_posix()] = path
    return found


def build(function_dir: Path, package_dir: Path) -> SourceArchive:
    """Collect the function's files and the package, and hash them."""
    missing = [
        name for name in REQUIRED_FUNCTION_FILES if not (function_dir / name).is_file()
    ]
    if missing:
        raise ConfigError(
            f"function source {function_dir} lacks {', '.join(missing)}; the "
            "ingestion functions are built from main.py and requirements.txt there"
        )
    if not (package_dir / "__init__.py").is_file():
        raise ConfigError(
            f"package directory {package_dir} has no __init__.py; point it at the "
            "llmops package the functions import"
        )

    files = _files(function_dir, "")
    for name, path in _files(package_dir, f"{package_dir.name}/").items():
        if name in files:
            raise ConfigError(
                f"{function_dir} holds {name}, which would shadow the "
                f"{package_dir.name} package in the archive; rename it"
            )
        files[name] = path

    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name].read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return SourceArchive(files=dict(sorted(files.items())), digest=digest.hexdigest())
