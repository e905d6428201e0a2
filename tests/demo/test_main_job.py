"""The main job, run through the CLI on its own local platform."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from llmops import demo
from llmops.cli import cli
from llmops.protection import OfflineRedactor


def test_seeded_document_is_fully_redacted_offline() -> None:
    """Every seeded value is found by the offline recognizers, by its info type."""
    redaction = OfflineRedactor().redact(demo.seeded_document())
    assert demo.occurrences(demo.seeded_values(), [redaction.text]) == {}
    expected = {k: len(v) for k, v in demo.SEEDED_VALUES.items()}
    assert dict(redaction.findings) == expected


def test_occurrences_ignore_spacing_and_dashes() -> None:
    """A value written with other spacing is still counted."""
    text = "card 4111111111111111 and 4111-1111-1111-1111"
    assert demo.occurrences(["4111 1111 1111 1111"], [text]) == {
        "4111 1111 1111 1111": 2
    }


def test_main_job_with_redaction_keeps_seeded_values_out(tmp_path: Path) -> None:
    """The demo ingests, searches, reports, and finds no seeded value anywhere."""
    state = tmp_path / ".llmops" / "local"
    result = CliRunner().invoke(
        cli,
        ["demo", "--redact", "--limit", "6", "--state-dir", str(state)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"documents=7 chunks=\d+ failed=0 seconds=[\d.]+", summary)
    assert "found in search results: 0" in result.output
    assert re.search(r"in every table \(\d+ rows\): 0\b", result.output)
    assert "CREDIT_CARD_NUMBER=2" in result.output
    assert (state.parent / "report.html").read_text().count("<svg") >= 3
    assert not (state / "platform.json").exists()


def test_docs_folder_takes_every_readable_type_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    """--docs picks what `llmops ingest` reads (.txt too), and names the rest."""
    for name in ("a.txt", "b.md", "sub/c.html", "d.png", "e.xlsx", ".git/config"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    taken = [name for _path, name in demo.extra_documents(tmp_path)]
    assert taken == ["docs/a.txt", "docs/b.md", "docs/sub/c.html"]
    assert [p.name for p in demo.unreadable_documents(tmp_path)] == ["d.png", "e.xlsx"]
