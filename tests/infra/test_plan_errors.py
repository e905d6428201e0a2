"""`llmops plan` on stack files that are not what it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.errors import ConfigError
from llmops.plan import stack_config


@pytest.mark.parametrize(
    "content",
    [b"- a\n- b\n", b"config: oops\n", b"just a string\n", b"config:\n  - x\n"],
)
def test_stack_file_of_the_wrong_shape_is_a_clear_error(
    tmp_path: Path, content: bytes
) -> None:
    """A stack file that is not a mapping with a config mapping says so."""
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="must be a mapping with a `config:`"):
        stack_config(path)


def test_stack_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """A stack file in another encoding is named, with the fix."""
    path = tmp_path / "Pulumi.latin.yaml"
    path.write_bytes("config:\n  llmops:team: équipe\n".encode("utf-16"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        stack_config(path)


@pytest.mark.parametrize(
    ("missing", "raised"),
    [("pulumi", ConfigError), ("yaml_extra", ModuleNotFoundError)],
)
def test_plan_without_the_infra_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, missing: str, raised: type[Exception]
) -> None:
    """A missing Pulumi SDK is a clear error naming the extra, not a traceback.

    Another missing module is not disguised as the extra's.
    """
    from click.testing import CliRunner

    from llmops import plan
    from llmops.cli import plan as plan_cli

    def capture(*args: object) -> None:
        raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)

    monkeypatch.setattr(plan, "capture", capture)
    with pytest.raises(raised) as caught:
        CliRunner().invoke(
            plan_cli.command,
            ["--stack", "Pulumi.dev.yaml"],
            catch_exceptions=False,
        )
    if raised is ConfigError:
        assert "pip install -e '.[infra]'" in str(caught.value)
        assert "needs pulumi" in str(caught.value)
