"""How a rule is declared and how it reads a resource's inputs.

Each area module (storage, iam, functions, ...) declares its rules with
:func:`resource_rule` or :func:`stack_rule`: a name, an enforcement level, a
description that says why, remediation text, and the settings it reads. A
check reports a violation with :func:`report`, which names the resource and
the fix in one message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.config import SETTINGS

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

Rule = ResourceValidationPolicy | StackValidationPolicy
ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


def _schema(name: str, settings: Iterable[str]) -> PolicyConfigSchema | None:
    # The schema carries each key's default; the pack's initial config and the
    # offline evaluator read a rule's keys back from it.
    keys = tuple(settings)
    for key in keys:
        if key not in SETTINGS:
            raise KeyError(f"rule {name} reads unknown setting {key}")
    if not keys:
        return None
    return PolicyConfigSchema(
        properties={key: SETTINGS[key].property_schema() for key in keys}
    )


def resource_rule(
    name: str,
    *,
    description: str,
    remediation: str,
    check: ResourceCheck,
    enforcement: EnforcementLevel = MANDATORY,
    severity: Severity = Severity.HIGH,
    settings: Iterable[str] = (),
) -> ResourceValidationPolicy:
    """Declare a rule that looks at one resource at a time."""
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=check,
        enforcement_level=enforcement,
        config_schema=_schema(name, settings),
        severity=severity,
        remediation_steps=remediation,
    )


def stack_rule(
    name: str,
    *,
    description: str,
    remediation: str,
    check: StackCheck,
    enforcement: EnforcementLevel = MANDATORY,
    severity: Severity = Severity.HIGH,
    settings: Iterable[str] = (),
) -> StackValidationPolicy:
    """Declare a rule that looks at every resource of the stack together."""
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=check,
        enforcement_level=enforcement,
        config_schema=_schema(name, settings),
        severity=severity,
        remediation_steps=remediation,
    )


def settings_of(policy: ResourceValidationPolicy | StackValidationPolicy) -> list[str]:
    """The setting keys a rule reads."""
    schema = policy.config_schema
    return [] if schema is None else list(schema.properties)


def label(resource_type: str, name: str) -> str:
    """How a violation names a resource: its name and its type token."""
    return f"{name!r} ({resource_type})"


def report(
    report_violation: ReportViolation,
    resource_type: str,
    name: str,
    problem: str,
    fix: str,
    urn: str | None = None,
) -> None:
    """Report one violation whose message names the resource and the fix."""
    message = f"{label(resource_type, name)} {problem}. Fix: {fix}"
    if urn is None:
        report_violation(message, None)
    else:
        report_violation(message, urn)


def dig(props: Mapping[str, Any] | None, *path: str) -> Any:
    """Return a nested input (``dig(p, "serviceConfig", "timeoutSeconds")``)."""
    current: Any = props
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def as_list(raw: Any) -> list[Any]:
    """A list input as a list; a missing one as empty."""
    if raw is None:
        return []
    # The engine's lists arrive as read-only Sequence proxies, not lists.
    if isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)):
        return list(raw)
    return [raw]


def as_number(raw: Any) -> float | None:
    """A numeric input (the engine sends floats, a few inputs are strings)."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def as_seconds(raw: Any) -> float | None:
    """A duration input (``"300s"``, ``"7776000s"``, or a number) in seconds."""
    if isinstance(raw, str) and raw.endswith("s"):
        raw = raw[:-1]
    return as_number(raw)


def truthy(raw: Any) -> bool:
    """Whether an input or environment value means "on"."""
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("1", "true", "yes", "on")


def policy_bindings(policy_data: Any) -> list[Mapping[str, Any]]:
    """The bindings of an IAM ``policyData`` JSON document (empty if unreadable)."""
    if isinstance(policy_data, str):
        try:
            policy_data = json.loads(policy_data)
        except ValueError:
            return []
    if not isinstance(policy_data, Mapping):
        return []
    return [b for b in as_list(policy_data.get("bindings")) if isinstance(b, Mapping)]


def grants(props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (role, member) pair an IAM member, binding or policy declares."""
    pairs: list[tuple[str, str]] = []
    role = props.get("role")
    if isinstance(role, str):
        for member in as_list(props.get("member")) + as_list(props.get("members")):
            if isinstance(member, str):
                pairs.append((role, member))
    for binding in policy_bindings(props.get("policyData")):
        binding_role = str(binding.get("role", ""))
        for member in as_list(binding.get("members")):
            pairs.append((binding_role, str(member)))
    return pairs


PUBLIC_PRINCIPALS = ("allusers", "allauthenticatedusers")
# Canned ACLs that open a bucket or object to everyone or every account.
PUBLIC_CANNED_ACLS = ("publicread", "publicreadwrite", "authenticatedread")


def is_public_principal(member: str) -> bool:
    """Whether an IAM member or ACL entity means everyone (or every account)."""
    return member.strip().lower() in PUBLIC_PRINCIPALS


def public_grants(props: Mapping[str, Any]) -> list[str]:
    """Describe every grant in a resource's inputs that opens it to the public.

    Reads IAM members, bindings and policies, ACL entities and role entities,
    BigQuery dataset accesses and canned ACLs.
    """
    found: list[str] = []
    for role, member in grants(props):
        if is_public_principal(member):
            found.append(f"{role} to {member}")
    entity = props.get("entity")
    if isinstance(entity, str) and is_public_principal(entity):
        found.append(f"ACL {props.get('role')} to {entity}")
    for role_entity in as_list(props.get("roleEntities")):
        acl_role, _, grantee = str(role_entity).partition(":")
        if is_public_principal(grantee):
            found.append(f"ACL {acl_role} to {grantee}")
    canned = props.get("predefinedAcl")
    if isinstance(canned, str) and canned.lower() in PUBLIC_CANNED_ACLS:
        found.append(f"canned ACL {canned}")
    # A dataset's access list, or one DatasetAccess resource, names groups.
    for access in [props, *as_list(props.get("accesses"))]:
        if not isinstance(access, Mapping):
            continue
        for key in ("specialGroup", "iamMember"):
            who = access.get(key)
            if isinstance(who, str) and is_public_principal(who):
                found.append(f"{access.get('role')} to {who}")
    return found
