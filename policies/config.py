"""The policy pack's settings: every key a rule reads, with its default.

Pulumi gives each policy its own config (``args.get_config()``); a rule reads
a key through :func:`value`, which falls back to the documented default, so a
rule behaves the same under ``pulumi preview --policy-pack`` and when
:mod:`policies.evaluate` calls it offline. ``python -m policies.config FILE``
turns one flat settings file into the per-rule file that
``pulumi preview --policy-pack-config`` reads.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmops.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One configuration key, its JSON-schema type, default and meaning."""

    key: str
    schema: dict[str, Any]
    default: Any
    description: str

    def property_schema(self) -> dict[str, Any]:
        """The key's schema with its default, as a PolicyConfigSchema property."""
        return {**self.schema, "default": self.default, "description": self.description}


_STRINGS = {"type": "array", "items": {"type": "string"}}

SETTINGS: dict[str, Setting] = {
    setting.key: setting
    for setting in (
        Setting(
            "allowedRegions",
            _STRINGS,
            [
                "us-central1",
                "us-east1",
                "us-east4",
                "us-west1",
                "europe-west1",
                "europe-west2",
                "europe-west3",
                "europe-west4",
                "asia-northeast1",
                "asia-southeast1",
                "us",
                "eu",
            ],
            "Regions (and multi-regions) resources may be placed in; data "
            "residency. Compared case-insensitively.",
        ),
        Setting(
            "requiredLabels",
            _STRINGS,
            ["team", "use-case", "environment", "cost-centre"],
            "Label keys every resource that takes labels must carry.",
        ),
        Setting(
            "maxRetentionDays",
            {"type": "integer", "minimum": 1},
            395,
            "Longest partition expiration allowed on a table that holds prompt "
            "or response text.",
        ),
        Setting(
            "softDeleteMinDays",
            {"type": "integer", "minimum": 1},
            7,
            "Shortest soft-delete retention the prompt registry bucket may have.",
        ),
        Setting(
            "promptRegistryMatch",
            {"type": "string"},
            "prompt",
            "A bucket whose name or URN contains this text (case-insensitive) "
            "is the prompt registry.",
        ),
        Setting(
            "allowPublicEndpoint",
            {"type": "boolean"},
            False,
            "Whether a Vector Search index endpoint may be public.",
        ),
        Setting(
            "cmekRequired",
            {"type": "boolean"},
            False,
            "Whether data at rest must be encrypted with a customer-managed key.",
        ),
        Setting(
            "maxKeyRotationDays",
            {"type": "integer", "minimum": 1},
            90,
            "Longest rotation period a KMS crypto key may have.",
        ),
        Setting(
            "dataClassification",
            {
                "type": "string",
                "enum": ["public", "internal", "confidential", "restricted"],
            },
            "internal",
            "The stack's data classification; the stricter of this and the "
            "ingestion function's LLMOPS_DATA_CLASSIFICATION applies.",
        ),
        Setting(
            "redactionRequiredFor",
            _STRINGS,
            ["confidential", "restricted"],
            "Data classifications under which ingestion must redact PII.",
        ),
        Setting(
            "embeddingModel",
            {"type": "string"},
            "",
            "The embedding model the index serves; empty means the model the "
            "ingestion functions are given, else text-embedding-005.",
        ),
        Setting(
            "embeddingDimensions",
            {"type": "integer", "minimum": 0},
            0,
            "The embedding dimension the index must have; 0 means the model's.",
        ),
        Setting(
            "maxInstances",
            {"type": "integer", "minimum": 1},
            100,
            "Highest max-instance count a function or service may declare.",
        ),
        Setting(
            "maxEventTimeoutSeconds",
            {"type": "integer", "minimum": 1},
            540,
            "Longest timeout of an event-driven function (the platform's limit).",
        ),
        Setting(
            "maxHttpTimeoutSeconds",
            {"type": "integer", "minimum": 1},
            3600,
            "Longest timeout of an HTTP function or a Cloud Run service.",
        ),
        Setting(
            "allowedRuntimes",
            _STRINGS,
            ["python311", "python312", "python313"],
            "Function runtimes the platform supports.",
        ),
        Setting(
            "environment",
            {"type": "string"},
            "",
            "The stack's environment; empty means each resource's "
            "`environment` label says.",
        ),
        Setting(
            "protectedEnvironments",
            _STRINGS,
            ["prod", "production"],
            "Environments whose data must be protected from deletion.",
        ),
    )
}


def value(config: Mapping[str, Any], key: str) -> Any:
    """Return ``config[key]``, or the setting's documented default."""
    setting = SETTINGS[key]
    raw = config.get(key)
    return setting.default if raw is None else raw


def strings(config: Mapping[str, Any], key: str) -> list[str]:
    """Return a list-of-strings setting, lower-cased for comparison."""
    raw = value(config, key)
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, Sequence):
        raise ConfigError(
            f"policy setting {key} must be a list of strings, got {raw!r}; "
            f"set it as a JSON list in the policy config"
        )
    return [str(item).lower() for item in raw]


def number(config: Mapping[str, Any], key: str) -> float:
    """Return a numeric setting."""
    raw = value(config, key)
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"policy setting {key} must be a number, got {raw!r}; "
            "set it as a JSON number in the policy config"
        ) from None


def flag(config: Mapping[str, Any], key: str) -> bool:
    """Return a boolean setting; accepts true/false strings too."""
    raw = value(config, key)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ConfigError(
        f"policy setting {key} must be true or false, got {raw!r}; "
        "set it as a JSON boolean in the policy config"
    )


def check_settings(settings: Mapping[str, Any]) -> None:
    """Raise ConfigError naming any key that is not a known setting."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ConfigError(
            f"unknown policy setting(s) {', '.join(unknown)}; known settings are "
            f"{', '.join(sorted(SETTINGS))} (see docs/policies.md)"
        )


def main(argv: list[str] | None = None) -> int:
    """Print the per-rule Pulumi policy config for a flat settings file."""
    from policies.evaluate import pack_config

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m policies.config SETTINGS.json", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as handle:
        settings = json.load(handle)
    print(json.dumps(pack_config(settings), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
