"""The pipelines' SQL, shipped as ``.sql`` files under ``llmops/sql/pipelines``.

Each file names tables as ``{dataset}.table``; a ``TableStore`` fills in the
dataset when it runs the query, and parameters are passed as ``@name``.
"""

from __future__ import annotations

from importlib import resources

from llmops.errors import ConfigError

LABELLED_FEEDBACK = "labelled_feedback"
NEW_LABELLED_COUNT = "new_labelled_count"
LOGGED_RESPONSES = "logged_responses"
BASELINE_METRICS = "baseline_metrics"
CURRENT_MODEL = "current_model"


def sql(name: str) -> str:
    """The named query's text, with its ``{dataset}`` placeholders."""
    entry = resources.files("llmops.sql.pipelines").joinpath(f"{name}.sql")
    if not entry.is_file():
        raise ConfigError(
            f"pipeline query {name!r} does not exist; add "
            f"llmops/sql/pipelines/{name}.sql"
        )
    return entry.read_text()
