"""The ingest and search commands' own behaviour, without a platform."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from llmops import targets
from llmops.cli import cli
from llmops.cli.search import best_passage


def test_snippet_shows_the_sentence_that_matches() -> None:
    """The snippet starts at the sentence sharing most words with the query."""
    text = (
        "Decorators apply in nested fashion. The code is equivalent. Default "
        "parameter values are evaluated when the definition is executed."
    )
    passage = best_passage(text, "When are default parameter values evaluated?", 80)
    assert passage.startswith("… Default parameter values are evaluated")


def test_state_dir_is_found_in_a_parent_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a subfolder, the running platform of a parent folder is used."""
    state = tmp_path / ".llmops" / "local"
    state.mkdir(parents=True)
    (state / "platform.json").write_text("{}")
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "docs" / "deep")
    monkeypatch.delenv(targets.ENV_STATE_DIR, raising=False)
    assert targets.state_dir().resolve() == state.resolve()


def test_search_refuses_an_unknown_content_type() -> None:
    """A content type the platform never produces is refused, with the valid ones."""
    result = CliRunner().invoke(cli, ["search", "zebra", "--content-type", "md"])
    assert result.exit_code == 2
    assert "markdown" in result.output and "'md' is not one of" in result.output


def test_search_without_a_platform_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no platform running, search names the folder and `llmops local up`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(targets.ENV_STATE_DIR, raising=False)
    result = CliRunner().invoke(cli, ["search", "anything"])
    assert result.exit_code != 0
    assert "llmops local up" in str(result.exception or result.output)
