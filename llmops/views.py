"""The monitoring views: one SQL file each, shared by infra and the runtime.

infra/ declares a BigQuery view per entry; the local platform creates the same
views in the emulator; the report reads them. The SQL names tables as
``{dataset}.table``; ``render`` fills in the backquoted project and dataset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from llmops.errors import ConfigError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,1023}$")
_PROJECT = re.compile(r"^[a-z][a-z0-9.:-]{3,62}$|^local$")


@dataclass(frozen=True)
class View:
    """A view over the monitoring tables."""

    name: str
    description: str
    sql_file: str

    def template(self) -> str:
        """The SQL as shipped, with its ``{dataset}`` placeholders."""
        return resources.files("llmops.sql.views").joinpath(self.sql_file).read_text()

    def render(self, project: str, dataset: str) -> str:
        """The SQL with every table named by its full, backquoted path."""
        if not _PROJECT.match(project):
            raise ConfigError(f"project {project!r} is not a valid GCP project id")
        if not _NAME.match(dataset):
            raise ConfigError(
                f"dataset {dataset!r} must hold lowercase letters, digits and "
                "underscores and start with a letter"
            )
        return self.template().replace("{dataset}", f"`{project}.{dataset}`")


def _load() -> tuple[View, ...]:
    views = []
    for entry in sorted(
        resources.files("llmops.sql.views").iterdir(), key=lambda p: p.name
    ):
        if not entry.name.endswith(".sql"):
            continue
        text = entry.read_text()
        first = text.splitlines()[0] if text else ""
        if not first.startswith("-- "):
            raise ConfigError(
                f"view file {entry.name} must start with a '-- description' line"
            )
        views.append(View(entry.name[:-4], first[3:].strip(), entry.name))
    return tuple(views)


VIEWS: tuple[View, ...] = _load()
