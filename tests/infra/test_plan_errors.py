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
