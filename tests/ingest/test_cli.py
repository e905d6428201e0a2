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


@pytest.mark.parametrize("value", ["0", "-1", "ten"])
def test_document_size_limit_must_be_positive(value: str) -> None:
    """A size limit that is not a positive number stops with the variable named."""
    from llmops.errors import ConfigError
    from llmops.settings import Settings

    env = {
        "LLMOPS_DOCS_BUCKET": "d",
        "LLMOPS_CHUNKS_BUCKET": "c",
        "LLMOPS_BIGQUERY_DATASET": "x",
        "LLMOPS_EMBEDDING_BACKEND": "local",
        "LLMOPS_VECTOR_BACKEND": "milvus",
        "LLMOPS_MILVUS_URI": "http://127.0.0.1:1",
        "LLMOPS_MAX_DOCUMENT_BYTES": value,
    }
    with pytest.raises(ConfigError, match="LLMOPS_MAX_DOCUMENT_BYTES"):
        Settings.from_env(env)


def test_ingest_refuses_an_invalid_use_case(tmp_path: Path) -> None:
    """`--use-case` must be a use-case name; nothing is uploaded otherwise."""
    (tmp_path / "a.txt").write_text("hello")
    result = CliRunner().invoke(
        cli, ["ingest", str(tmp_path / "a.txt"), "--use-case", "Équipe Nord"]
    )
    assert result.exit_code == 2 and "not a use-case name" in result.output


def test_corrupt_platform_record_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreadable platform.json names the file and what to do."""
    state = tmp_path / ".llmops" / "local"
    state.mkdir(parents=True)
    (state / "platform.json").write_text("[]")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(targets.ConfigError, match="platform.json is unreadable"):
        targets.local_target(state)


def test_two_files_with_one_object_name_are_refused(tmp_path: Path) -> None:
    """Files that would land on the same object name are refused before upload."""
    from llmops.errors import InputError
    from llmops.ingest.client import object_names

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "README").write_text(folder)
    with pytest.raises(InputError, match="would both be uploaded as 'README'"):
        object_names([tmp_path / "a" / "README", tmp_path / "b" / "README"])


@pytest.mark.parametrize("content", [b"null", b"5", b'"docsBucket"', b"\xff\xfe{}"])
def test_stack_outputs_file_of_the_wrong_shape_is_a_clear_error(
    tmp_path: Path, content: bytes
) -> None:
    """An outputs file that is not a JSON object names itself and the fix."""
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    with pytest.raises(targets.ConfigError, match="pulumi stack output --json"):
        targets.cloud_target(path)


@pytest.mark.parametrize(
    "prefix", ["../..", "/abs", "a/../b", "a//b", "./a", "x\nY", "a*"]
)
def test_a_prefix_that_is_not_a_folder_path_is_refused(
    tmp_path: Path, prefix: str
) -> None:
    """`--prefix` must be a plain folder path; nothing is uploaded otherwise."""
    from llmops.errors import InputError
    from llmops.ingest.client import object_names

    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(InputError, match="--prefix"):
        object_names([tmp_path / "a.txt"], prefix)
    assert object_names([tmp_path / "a.txt"], "handbook/2026") == [
        (tmp_path / "a.txt", "handbook/2026/a.txt")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "a.txt", "--timeout", "-1"], "--timeout"),
        (["ingest", "a.txt", "--timeout", "0"], "--timeout"),
        (["delete", "x.md", "--timeout", "0"], "--timeout"),
        (["delete", ""], "object name 1 is empty"),
        (["delete", "ok.md", "  "], "object name 2 is empty"),
    ],
)
def test_impossible_timeouts_and_empty_names_are_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    """These fail as usage errors before any platform is looked for."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("hello")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_platform_whose_supervisor_has_ended_is_named(tmp_path: Path) -> None:
    """A leftover platform.json does not send commands to dead emulators."""
    import json
    import subprocess
    import sys

    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    state = tmp_path / "state"
    state.mkdir()
    (state / "platform.json").write_text(
        json.dumps({"env": {}, "supervisor": {"pid": int(ended.stdout), "started": 1}})
    )
    with pytest.raises(targets.ConfigError, match="is not running"):
        targets.local_target(state)
