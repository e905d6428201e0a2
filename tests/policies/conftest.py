"""Fixtures for the policy pack's tests: a compliant stack and a rule runner.

The pack is not an installed package, so the repository root goes on the
import path here, as Pulumi's runner puts it there for ``policies/__main__``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from policy_stacks import (  # noqa: E402
    STACK_CONFIG,
    Resource,
    compliant_stack,
    rule_violations,
)


@pytest.fixture
def stack() -> list[Resource]:
    """A fresh copy of the compliant stack for one test to change."""
    return copy.deepcopy(compliant_stack())


@pytest.fixture
def violations() -> Callable[..., list[dict[str, Any]]]:
    """Run one rule on a stack, with the compliant stack's config by default."""

    def run(
        rule_name: str, stack: list[Resource], config: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return rule_violations(
            rule_name, stack, STACK_CONFIG if config is None else config
        )

    return run
