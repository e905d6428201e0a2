"""The use-case commands against the local platform: prompts, report, erase-user."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from llmops import contract as c
from llmops.backends.bigquery import BigQueryTableStore
from llmops.cli import erase_user as erase_cli
from llmops.cli import prompts as prompts_cli
from llmops.cli import report as report_cli
from llmops.errors import ConfigError, InputError
from llmops.local import LocalPlatform
from llmops.monitoring import InteractionLogger, SafetyAttribute
from llmops.monitoring.pseudonyms import local_pseudonym_key, pseudonym


@pytest.fixture
def platform(
    local_emulators: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> LocalPlatform:
    """The session's emulators; the env the commands export is restored after."""
    monkeypatch.setenv(c.ENV_STORAGE_EMULATOR_HOST, local_emulators.storage_endpoint)
    monkeypatch.delenv("LLMOPS_PROMPTS_BUCKET", raising=False)
    monkeypatch.delenv("LLMOPS_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("LLMOPS_AUTHOR", "tester")
    return local_emulators


def _run(platform: LocalPlatform, command: Any, *args: str) -> Result:
    return CliRunner().invoke(
        command, [*args, "--state-dir", str(platform.state.root)], catch_exceptions=True
    )


def _write(folder: Path, name: str, text: str, **extra: Any) -> Path:
    doc = {
        "name": name,
        "model": "gemini-2.0-flash",
        "variables": ["question"],
        "template": text,
        "tests": [
            {
                "name": "basic",
                "variables": {"question": "Why?"},
                "assert": [{"contains": "x"}],
            }
        ],
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_push_promote_show_diff_rollback(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """A template goes through its life cycle with the CLI, on the local registry."""
    name = f"cli-{uuid.uuid4().hex[:8]}"
    path = _write(tmp_path, name, "Answer {{ question }}")
    pushed = _run(platform, prompts_cli.command, "push", str(path), "-m", "first")
    assert pushed.exit_code == 0, pushed.output
    assert f"{name}: new version 1" in pushed.output
    again = _run(platform, prompts_cli.command, "push", str(path))
    assert f"{name}: unchanged 1" in again.output
    _write(tmp_path, name, "Reply to {{ question }}")
    assert (
        "new version 2" in _run(platform, prompts_cli.command, "push", str(path)).output
    )

    assert (
        "-> 1"
        in _run(platform, prompts_cli.command, "promote", f"{name}:1", "prod").output
    )
    moved = _run(platform, prompts_cli.command, "promote", name, "prod")
    assert f"{name}@prod: 1 -> 2" in moved.output
    listed = _run(platform, prompts_cli.command, "list", name).output
    assert re.search(r"^\s+2 .*tester.*\[prod\]", listed, re.MULTILINE)
    assert "first" in listed
    shown = _run(platform, prompts_cli.command, "show", f"{name}@prod").output
    assert f"# {name}:2" in shown and "template: Reply to {{ question }}" in shown
    diff = _run(platform, prompts_cli.command, "diff", f"{name}:1", ":2").output
    assert "-template: Answer {{ question }}" in diff and "+template: Reply to" in diff

    back = _run(platform, prompts_cli.command, "rollback", name, "prod")
    assert f"{name}@prod: 2 -> 1" in back.output
    assert (
        f"{name}  newest 2  (prod=1)"
        in _run(platform, prompts_cli.command, "list").output
    )


def test_list_shows_a_damaged_label_and_every_other_template(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """One damaged label is marked, with the fix; the listing goes on."""
    from llmops.backends.gcs import GcsObjectStore

    name = f"cli-{uuid.uuid4().hex[:8]}"
    _run(
        platform,
        prompts_cli.command,
        "push",
        str(_write(tmp_path, name, "A {{ question }}")),
    )
    _run(platform, prompts_cli.command, "promote", f"{name}:1", "prod")
    _run(platform, prompts_cli.command, "promote", f"{name}:1", "staging")
    store = GcsObjectStore.for_emulator(platform.storage_endpoint)
    bucket = platform.buckets["prompts"]
    store.write(bucket, f"templates/{name}/labels/prod.json", b"{oops")

    listed = _run(platform, prompts_cli.command, "list")
    assert listed.exit_code == 0, listed.output
    assert f"{name}  newest 1  (staging=1, prod=DAMAGED)" in listed.output
    assert f"`llmops prompts promote {name}:VERSION prod` sets it again" in (
        listed.output
    )
    shown = _run(platform, prompts_cli.command, "show", f"{name}@prod")
    assert "sets the label again" in str(shown.exception)
    # The emulator is not Cloud Storage: no gcloud advice for it.
    assert "gcloud" not in str(shown.exception)
    fixed = _run(platform, prompts_cli.command, "promote", f"{name}:1", "prod")
    assert fixed.exit_code == 0, fixed.output
    assert f"{name}  newest 1  (prod=1, staging=1)" in (
        _run(platform, prompts_cli.command, "list").output
    )


def test_sync_pushes_what_changed_and_fails_on_an_invalid_template(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """sync pushes changed files only, and refuses a folder with an invalid one."""
    good, other = f"sync-{uuid.uuid4().hex[:8]}", f"sync-{uuid.uuid4().hex[:8]}"
    _write(tmp_path, good, "Hi {{ question }}")
    _write(tmp_path, other, "Bye {{ question }}")
    first = _run(platform, prompts_cli.command, "sync", str(tmp_path))
    assert "2 pushed, 0 unchanged" in first.output, first.output
    _write(tmp_path, other, "Farewell {{ question }}")
    assert (
        "1 pushed, 1 unchanged"
        in _run(platform, prompts_cli.command, "sync", str(tmp_path)).output
    )

    (tmp_path / "broken.yaml").write_text(
        "name: broken\ntemplate: '{{ undeclared }}'\n"
    )
    _write(tmp_path, good, "Changed {{ question }}")
    failed = _run(platform, prompts_cli.command, "sync", str(tmp_path))
    assert failed.exit_code != 0
    assert isinstance(failed.exception, InputError)
    assert "broken.yaml" in str(failed.exception)
    listed = _run(platform, prompts_cli.command, "list", good).output
    assert len(listed.strip().splitlines()) == 1  # nothing pushed by the failed sync


def test_prompts_test_without_a_model_says_only_rendering_ran(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """Without a model, cases are only rendered, and the output says so."""
    name = f"case-{uuid.uuid4().hex[:8]}"
    _write(tmp_path, name, "Answer {{ question }}")
    result = _run(platform, prompts_cli.command, "test", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert f"RENDERED {name}/basic" in result.output
    assert "model checks not run" in result.output

    pushed = _run(platform, prompts_cli.command, "push", str(tmp_path / f"{name}.yaml"))
    assert pushed.exit_code == 0
    from_registry = _run(platform, prompts_cli.command, "test", name)
    assert f"RENDERED {name}/basic" in from_registry.output


def test_report_writes_one_offline_html_file_with_the_data(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """The report plots the logged rows, loads nothing from outside, and summarises."""
    settings = platform.settings()
    tables = BigQueryTableStore.for_emulator(
        platform.bigquery_endpoint, "local", settings.dataset
    )
    use_case = f"report-{uuid.uuid4().hex[:6]}"
    with InteractionLogger(
        tables,
        use_case=use_case,
        pseudonym_key=local_pseudonym_key(platform.state.root),
        dead_letter_path=tmp_path / "dl.jsonl",
    ) as log:
        for n in range(4):
            interaction = log.log_interaction(
                prompt=f"question {n}",
                response="answer " * (n + 1),
                model_name="gemini-2.0-flash",
                template_name="answer",
                template_version=7,
                latency_ms=100.0 * (n + 1),
                input_tokens=5,
                output_tokens=10,
                conversation_id=f"{use_case}-c",
                turn=n + 1,
                safety_attributes=[
                    SafetyAttribute("HARM_CATEGORY_HATE_SPEECH", "HIGH", 0.8, True)
                ],
                guardrails=["off_topic"],
                user_id="u1",
            )
            log.log_feedback(interaction, thumbs=1 if n % 2 else -1)

    out = tmp_path / "report.html"
    result = _run(platform, report_cli.command, "--since", "1d", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (
        "interactions" in result.output and f"report: {out.resolve()}" in result.output
    )
    page = out.read_text()
    assert page.count("<svg") >= 8
    assert f"{use_case} / answer:v7 / gemini-2.0-flash" in page
    assert "HARM_CATEGORY_HATE_SPEECH" in page and "off_topic (interaction)" in page
    assert not re.search(r"(src|href)=[\"']?https?:", page)
    assert "<script" not in page


def test_report_rejects_a_malformed_since(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """--since takes a date or a number of days."""
    result = _run(platform, report_cli.command, "--since", "last week")
    assert result.exit_code == 2
    assert "neither a date" in result.output
    assert report_cli.parse_since("7d", dt.date(2026, 12, 4)) == dt.date(2026, 11, 27)


def test_erase_user_deletes_the_users_rows_and_says_how_many(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """erase-user removes every row of the user in the platform's dataset."""
    settings = platform.settings()
    tables = BigQueryTableStore.for_emulator(
        platform.bigquery_endpoint, "local", settings.dataset
    )
    user = f"user-{uuid.uuid4().hex[:8]}@example.com"
    key = local_pseudonym_key(platform.state.root)
    with InteractionLogger(
        tables,
        use_case="erase",
        pseudonym_key=key,
        dead_letter_path=tmp_path / "dl.jsonl",
    ) as log:
        for _ in range(2):
            interaction = log.log_interaction(
                prompt="p", response="r", model_name="m", user_id=user
            )
        log.log_feedback(interaction, rating=5, user_id=user)

    result = _run(platform, erase_cli.command, user, "--yes")
    assert result.exit_code == 0, result.output
    assert "interactions: 2 rows deleted" in result.output
    assert "feedback: 1 rows deleted" in result.output
    left = tables.query(
        "SELECT COUNT(*) AS n FROM {dataset}.interactions WHERE user_pseudonym = @p",
        {"p": pseudonym(user, key)},
    )
    assert left[0]["n"] == 0


def test_report_names_a_price_file_that_is_not_utf8(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """A price file in another encoding is a ConfigError naming it, not a traceback."""
    prices = tmp_path / "prices.yaml"
    prices.write_bytes(b"models:\n  gemini-\xff: {input_per_million: 1}\n")
    result = _run(platform, report_cli.command, "--prices", str(prices))
    assert isinstance(result.exception, ConfigError), result.output
    assert f"price file {prices} is not UTF-8" in str(result.exception)


def _log_one(platform: LocalPlatform, user: str, tmp_path: Path) -> BigQueryTableStore:
    tables = BigQueryTableStore.for_emulator(
        platform.bigquery_endpoint, "local", platform.settings().dataset
    )
    with InteractionLogger(
        tables,
        use_case="erase",
        pseudonym_key=local_pseudonym_key(platform.state.root),
        dead_letter_path=tmp_path / "logger.jsonl",
    ) as log:
        log.log_interaction(prompt="p", response="r", model_name="m", user_id=user)
    return tables


def _left(platform: LocalPlatform, tables: BigQueryTableStore, user: str) -> int:
    key = local_pseudonym_key(platform.state.root)
    rows = tables.query(
        "SELECT COUNT(*) AS n FROM {dataset}.interactions WHERE user_pseudonym = @p",
        {"p": pseudonym(user, key)},
    )
    return int(rows[0]["n"])


def test_erase_user_refuses_a_dead_letter_file_that_does_not_exist(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """A mistyped --dead-letter stops the command before any row is deleted."""
    user = f"user-{uuid.uuid4().hex[:8]}@example.com"
    tables = _log_one(platform, user, tmp_path)
    missing = tmp_path / "nonexistent" / "x.jsonl"
    result = _run(
        platform, erase_cli.command, user, "--yes", "--dead-letter", str(missing)
    )
    assert isinstance(result.exception, InputError), result.output
    assert f"dead-letter file {missing} does not exist" in str(result.exception)
    assert "rows deleted" not in result.output
    assert _left(platform, tables, user) == 1


def test_erase_user_reports_unreadable_dead_letter_lines_and_keeps_them(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    """Counts are printed, unreadable lines are kept, and the user's in them named."""
    user = f"user-{uuid.uuid4().hex[:8]}@example.com"
    tables = _log_one(platform, user, tmp_path)
    mine = pseudonym(user, local_pseudonym_key(platform.state.root))
    dead_letter = tmp_path / "dead-letter.jsonl"
    unreadable = b"[1]\n\xff\xfe\n" + f'{{"row": {{"user_pseudonym": "{mine}'.encode()
    dead_letter.write_bytes(
        f'{{"table": "interactions", "row": {{"user_pseudonym": "{mine}"}}}}\n'.encode()
        + unreadable
    )

    result = _run(
        platform, erase_cli.command, user, "--yes", "--dead-letter", str(dead_letter)
    )

    assert result.exit_code == erase_cli.EXIT_REVIEW, result.output
    assert "interactions: 1 rows deleted" in result.output
    assert "dead-letter file: 1 rows removed" in result.output
    assert "3 unreadable lines kept unchanged" in result.output
    assert "unreadable lines 4 hold this user's pseudonym" in result.output
    assert dead_letter.read_bytes() == unreadable
    assert _left(platform, tables, user) == 0


def test_the_registry_bucket_comes_from_the_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stack's own bucket wins over a stray variable; a stack without one fails."""
    from llmops.errors import ConfigError
    from llmops.targets import Target

    monkeypatch.setenv("LLMOPS_PROMPTS_BUCKET", "stray")
    stack = Target("cloud", "stack p", {}, {"promptsBucket": "p-prompts"})
    named = Target("cloud", "stack p", {"LLMOPS_PROMPTS_BUCKET": "env-prompts"}, {})
    assert prompts_cli.registry_bucket(named, None) == "env-prompts"
    assert prompts_cli.registry_bucket(stack, None) == "p-prompts"
    with pytest.raises(ConfigError, match="promptsBucket"):
        prompts_cli.registry_bucket(Target("cloud", "stack p", {}, {}), None)
