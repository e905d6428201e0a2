"""Evaluate every rule offline on captured resources, without the pack server.

``llmops plan`` captures each resource of a stack under mocks as a dict
(``type``, ``name``, ``urn``, ``inputs`` in the engine's camelCase,
``dependencies`` and optionally ``parent`` and ``protect``) and calls
:func:`evaluate` on the list. The result holds one verdict per rule, in pack
order, so a report can list every rule, passed or not.

The config takes three kinds of key, like a Pulumi policy config file:
``"all"`` (an enforcement level for every rule), a rule's name (an
enforcement level, or an object of ``enforcementLevel`` and that rule's
settings) and, for convenience, any setting key (``allowedRegions``...),
which applies to every rule that reads it. ``python -m policies.evaluate
PLAN.json [CONFIG.json]`` prints the verdicts of a saved ``llmops plan
--json`` and exits 1 when a mandatory rule is violated.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from llmops.errors import ConfigError, InputError
from policies.config import SETTINGS, check_settings
from policies.pack import ALL
from policies.rule import Rule, settings_of

logger = logging.getLogger(__name__)

LEVELS = ("advisory", "mandatory", "remediate", "disabled")


def _level(where: str, raw: Any) -> str:
    level = str(raw).lower()
    if level not in LEVELS:
        raise ConfigError(
            f"policy config {where} has enforcement level {raw!r}; use one of "
            f"{', '.join(LEVELS)}"
        )
    # Remediation is not offered offline; a remediate rule still blocks.
    return "mandatory" if level == "remediate" else level


def _split(
    config: Mapping[str, Any], rules: Sequence[Rule]
) -> tuple[str | None, dict[str, Any], dict[str, str], dict[str, dict[str, Any]]]:
    """Split a config into its all-level, shared settings, levels and settings."""
    names = {rule.name: rule for rule in rules}
    every: str | None = None
    shared: dict[str, Any] = {}
    levels: dict[str, str] = {}
    own: dict[str, dict[str, Any]] = {}
    for key, raw in config.items():
        if key == "all":
            every = _level("all", raw)
        elif key in names:
            if isinstance(raw, Mapping):
                body = dict(raw)
                if "enforcementLevel" in body:
                    levels[key] = _level(key, body.pop("enforcementLevel"))
                check_settings(body)
                unread = sorted(set(body) - set(settings_of(names[key])))
                if unread:
                    raise ConfigError(
                        f"policy config {key} sets {', '.join(unread)}, which that "
                        f"rule does not read; it reads "
                        f"{', '.join(settings_of(names[key])) or 'no settings'}"
                    )
                own[key] = body
            else:
                levels[key] = _level(key, raw)
        elif key in SETTINGS:
            shared[key] = raw
        else:
            raise ConfigError(
                f"policy config key {key!r} is neither a rule, 'all' nor a setting; "
                "see docs/policies.md for the rule names and settings"
            )
    return every, shared, levels, own


def pack_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Turn a config with shared settings into Pulumi's per-rule form.

    The result is what ``pulumi preview --policy-pack-config FILE`` reads:
    each rule's own settings, with shared ones copied to every rule that
    reads them.
    """
    every, shared, levels, own = _split(config or {}, ALL)
    result: dict[str, Any] = {} if every is None else {"all": every}
    for rule in ALL:
        body = {k: v for k, v in shared.items() if k in settings_of(rule)}
        body.update(own.get(rule.name, {}))
        if rule.name in levels:
            body["enforcementLevel"] = levels[rule.name]
        if body:
            result[rule.name] = body
    return result


# Stack-file keys (without their namespace) that describe what the stack asks
# of the pack. A stack cannot relax a guardrail this way: relaxing one takes an
# explicit `<namespace>:policy` object.
STACK_SETTINGS = {
    "environment": "environment",
    "embeddingModel": "embeddingModel",
    "embeddingDimensions": "embeddingDimensions",
    "dataClassification": "dataClassification",
    "cmekRequired": "cmekRequired",
}


def stack_policy_config(
    stack_config: Mapping[str, Any], namespace: str = "llmops"
) -> dict[str, Any]:
    """The policy config a stack file implies, for :func:`evaluate`.

    Reads the stack's environment, embedding model and dimensions, data
    classification and CMEK requirement, then merges the stack's
    ``<namespace>:policy`` object (rule names, ``all`` or settings) over them.
    """
    result: dict[str, Any] = {}
    for key, setting in STACK_SETTINGS.items():
        raw = stack_config.get(f"{namespace}:{key}")
        if raw is not None and raw != "":
            result[setting] = raw
    overrides = stack_config.get(f"{namespace}:policy")
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError:
            raise ConfigError(
                f"{namespace}:policy must be a JSON object of policy settings, "
                f"got {overrides!r}; see docs/policies.md"
            ) from None
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            f"{namespace}:policy must be an object of policy settings, got "
            f"{overrides!r}; see docs/policies.md"
        )
    result.update(overrides or {})
    _split(result, ALL)
    return result


def _options(entry: Mapping[str, Any]) -> PolicyResourceOptions:
    parent = entry.get("parent")
    return PolicyResourceOptions(
        protect=bool(entry.get("protect", False)),
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=str(parent) if parent else None,
    )


def _urn(entry: Mapping[str, Any]) -> str:
    urn = entry.get("urn")
    if urn:
        return str(urn)
    return f"urn:pulumi:plan::llmops::{entry['type']}::{entry['name']}"


def _check_entries(resources: Sequence[Mapping[str, Any]]) -> None:
    for index, entry in enumerate(resources):
        missing = [key for key in ("type", "name") if not entry.get(key)]
        if missing:
            raise InputError(
                f"captured resource #{index} lacks {', '.join(missing)}; each "
                "resource needs type, name and inputs (as llmops plan captures)"
            )


def stack_resources(resources: Sequence[Mapping[str, Any]]) -> list[PolicyResource]:
    """Build the engine's view of a stack from captured resource dicts.

    ``dependencies`` and ``parent`` may name resources by URN or by name.
    """
    _check_entries(resources)
    built = [
        PolicyResource(
            resource_type=str(entry["type"]),
            props=entry.get("inputs") or {},
            urn=_urn(entry),
            name=str(entry["name"]),
            opts=_options(entry),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for entry in resources
    ]
    by_urn = {resource.urn: resource for resource in built}
    by_name = {resource.name: resource for resource in built}

    def find(ref: Any) -> PolicyResource | None:
        return by_urn.get(str(ref)) or by_name.get(str(ref))

    for entry, resource in zip(resources, built, strict=True):
        resource.parent = find(entry.get("parent")) if entry.get("parent") else None
        for ref in entry.get("dependencies") or []:
            dependency = find(ref)
            if dependency is not None and dependency is not resource:
                resource.dependencies.append(dependency)
    return built


def _settle(result: Any) -> None:
    # The pack's rules are synchronous; an async one is awaited all the same.
    if inspect.isawaitable(result):

        async def wait() -> None:
            await result

        asyncio.run(wait())


def _run(
    rule: Rule, resources: list[PolicyResource], rule_config: dict[str, Any]
) -> list[dict[str, Any]]:
    by_urn = {resource.urn: resource for resource in resources}
    violations: list[dict[str, Any]] = []

    def record(resource: PolicyResource | None, message: str) -> None:
        violations.append(
            {
                "urn": resource.urn if resource else "",
                "name": resource.name if resource else "",
                "type": resource.resource_type if resource else "",
                "message": message,
                "remediation": rule.remediation_steps or "",
            }
        )

    if isinstance(rule, ResourceValidationPolicy):
        for resource in resources:
            # Limitation: no provider is passed, so provider default labels do
            # not count offline, until captured plans record each provider.
            args = ResourceValidationArgs(
                resource.resource_type,
                resource.props,
                resource.urn,
                resource.name,
                resource.opts,
                None,
                rule_config,
            )

            def report(message: str, urn: str | None = None, _r=resource) -> None:
                record(_r, message)

            _settle(rule.validate(args, report))
    else:

        def report_stack(message: str, urn: str | None = None) -> None:
            record(by_urn.get(urn or ""), message)

        _settle(
            rule.validate(StackValidationArgs(resources, rule_config), report_stack)
        )
    return violations


def evaluate(
    resources: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any] | None = None,
    *,
    rules: Sequence[Rule] | None = None,
) -> list[dict[str, Any]]:
    """Run every rule on the captured resources and return one verdict each.

    Each verdict holds ``name``, ``enforcement`` (mandatory, advisory or
    disabled), ``severity``, ``description``, ``remediation`` and
    ``violations`` (each with the resource's ``urn``, ``name`` and ``type``,
    the ``message`` and the ``remediation``). A disabled rule is listed with
    no violations.
    """
    chosen = list(ALL if rules is None else rules)
    every, shared, levels, own = _split(config or {}, chosen)
    stack = stack_resources(resources)
    verdicts = []
    for rule in chosen:
        default = rule.enforcement_level.value if rule.enforcement_level else "advisory"
        level = levels.get(rule.name) or every or default
        rule_config = {k: v for k, v in shared.items() if k in settings_of(rule)}
        rule_config.update(own.get(rule.name, {}))
        violations = [] if level == "disabled" else _run(rule, stack, rule_config)
        verdicts.append(
            {
                "name": rule.name,
                "enforcement": level,
                "severity": rule.severity.value if rule.severity else "",
                "description": rule.description,
                "remediation": rule.remediation_steps or "",
                "violations": violations,
            }
        )
    logger.info(
        "policies.evaluated resources=%d rules=%d mandatory_violations=%d",
        len(stack),
        len(verdicts),
        mandatory_violations(verdicts),
    )
    return verdicts


def mandatory_violations(verdicts: Sequence[Mapping[str, Any]]) -> int:
    """How many violations of mandatory rules the verdicts hold."""
    return sum(
        len(verdict["violations"])
        for verdict in verdicts
        if verdict["enforcement"] == "mandatory"
    )


def render(verdicts: Sequence[Mapping[str, Any]]) -> str:
    """The verdicts as text: one line per rule, then each violation's fix."""
    lines = []
    for verdict in verdicts:
        count = len(verdict["violations"])
        state = (
            "disabled"
            if verdict["enforcement"] == "disabled"
            else ("passed" if count == 0 else f"{count} violation(s)")
        )
        lines.append(f"{verdict['name']} [{verdict['enforcement']}]: {state}")
        for violation in verdict["violations"]:
            lines.append(f"  - {violation['message']}")
    mandatory = mandatory_violations(verdicts)
    lines.append(f"{len(verdicts)} rules, {mandatory} mandatory violation(s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the verdicts for a saved plan; exit 1 on a mandatory violation."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        print(
            "usage: python -m policies.evaluate PLAN.json [CONFIG.json]",
            file=sys.stderr,
        )
        return 2
    with open(args[0], encoding="utf-8") as handle:
        plan = json.load(handle)
    resources = plan["resources"] if isinstance(plan, Mapping) else plan
    config: dict[str, Any] = {}
    if len(args) == 2:
        with open(args[1], encoding="utf-8") as handle:
            config = json.load(handle)
    verdicts = evaluate(resources, config)
    print(render(verdicts))
    return 1 if mandatory_violations(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
