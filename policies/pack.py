"""Every rule of the pack, in report order, and the pack's initial config."""

from __future__ import annotations

from typing import Any

from policies import functions, governance, iam, monitoring, storage, vector_search
from policies.config import SETTINGS
from policies.rule import Rule, settings_of

PACK_NAME = "llmops-guardrails"

ALL: list[Rule] = [
    *storage.RULES,
    *iam.RULES,
    *functions.RULES,
    *vector_search.RULES,
    *monitoring.RULES,
    *governance.RULES,
]


def initial_config() -> dict[str, Any]:
    """Each rule's settings at their documented defaults."""
    return {
        rule.name: {key: SETTINGS[key].default for key in settings_of(rule)}
        for rule in ALL
        if settings_of(rule)
    }
