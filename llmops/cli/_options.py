"""Options every command that talks to a platform shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from llmops.targets import Target, resolve


def target_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add --stack-outputs and --state-dir; pass a resolved ``target``."""
    fn = click.option(
        "--state-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Local platform state folder (default .llmops/local or LLMOPS_STATE_DIR).",
    )(fn)
    fn = click.option(
        "--stack-outputs",
        type=click.Path(dir_okay=False),
        default=None,
        help="Target a cloud stack: a file written by `pulumi stack output --json`.",
    )(fn)
    return fn


def wait_option(default: float) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--timeout SECONDS``: how long a command waits, above zero."""
    return click.option(
        "--timeout",
        default=default,
        show_default=True,
        type=click.FloatRange(min=0, min_open=True),
        help="Seconds to wait.",
    )


def target_from(stack_outputs: str | None, state_dir: str | None) -> Target:
    target = resolve(stack_outputs, state_dir)
    target.activate()
    return target
