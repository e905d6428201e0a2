"""Governance rules: residency, labels, encryption, redaction, protection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from llmops import contract
from policies import config
from policies import resource_types as t
from policies.functions import workload
from policies.rule import ADVISORY, Rule, as_seconds, dig, report, resource_rule, truthy

LABEL_PATTERN = re.compile(r"^[a-z0-9_-]{0,63}$")
# From least to most sensitive; the stricter of two classifications wins.
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
# Data resources that prod must not be able to destroy with their contents.
DESTROY_FLAGS: dict[str, tuple[str, Any, str]] = {
    t.BUCKET: ("forceDestroy", True, "set force_destroy=False"),
    t.DATASET: (
        "deleteContentsOnDestroy",
        True,
        "set delete_contents_on_destroy=False",
    ),
    t.TABLE: ("deletionProtection", False, "set deletion_protection=True"),
}


def _locations(props: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for key in ("location", "region"):
        value = props.get(key)
        if isinstance(value, str) and value:
            found.append((key, value))
    trigger_region = dig(props, "eventTrigger", "triggerRegion")
    if isinstance(trigger_region, str) and trigger_region:
        found.append(("eventTrigger.triggerRegion", trigger_region))
    return found


def _allowed_regions(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    # An IAM grant's location only repeats the one of the resource it is on.
    if "iam" in args.resource_type.split(":")[1].lower():
        return
    allowed = config.strings(args.get_config(), "allowedRegions")
    for key, where in _locations(args.props):
        if where.lower() not in allowed:
            report(
                violation,
                args.resource_type,
                args.name,
                f"is placed in {where!r} ({key}), outside the allowed regions "
                f"({', '.join(allowed)})",
                f"set {key} to one of the allowed regions, or add {where!r} to "
                "allowedRegions in the policy config if residency permits",
            )


allowed_regions = resource_rule(
    "governance-allowed-regions",
    description=(
        "Every resource with a location is in an allowed region or multi-region: "
        "data residency is decided once for the platform, not per resource."
    ),
    remediation=(
        "Move the resource to a region listed in allowedRegions (the stack's "
        "region setting), or extend allowedRegions where residency allows."
    ),
    check=_allowed_regions,
    settings=("allowedRegions",),
)


def _effective_labels(args: ResourceValidationArgs) -> dict[str, str]:
    labels: dict[str, str] = {}
    # A provider's default labels reach every resource it manages.
    if args.provider is not None:
        defaults = args.provider.props.get("defaultLabels")
        if isinstance(defaults, Mapping):
            labels.update({str(k): str(v) for k, v in defaults.items()})
    own = args.props.get("labels")
    if isinstance(own, Mapping):
        labels.update({str(k): str(v) for k, v in own.items()})
    return labels


def _required_labels(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type not in t.LABELLED:
        return
    required = config.strings(args.get_config(), "requiredLabels")
    labels = _effective_labels(args)
    missing = [key for key in required if not labels.get(key)]
    if missing:
        report(
            violation,
            args.resource_type,
            args.name,
            f"lacks the required label(s) {', '.join(missing)}, so its cost "
            "and ownership cannot be traced",
            "add labels={"
            + ", ".join(f'"{key}": ...' for key in missing)
            + "} (or set them as the provider's default_labels)",
        )
    invalid = [
        f"{key}={value!r}"
        for key, value in labels.items()
        if not LABEL_PATTERN.match(key) or not LABEL_PATTERN.match(value) or not key
    ]
    if invalid:
        report(
            violation,
            args.resource_type,
            args.name,
            f"has label(s) Google Cloud rejects: {', '.join(invalid)}",
            "use lower-case letters, digits, '-' and '_' only, at most 63 each",
        )


required_labels = resource_rule(
    "governance-required-labels",
    description=(
        "Every resource that takes labels carries the required ones (team, use "
        "case, environment, cost centre by default): billing exports and "
        "on-call routing are keyed by them."
    ),
    remediation=(
        "Add the missing labels to the resource, or once for all as the "
        "provider's default_labels."
    ),
    check=_required_labels,
    severity=Severity.MEDIUM,
    settings=("requiredLabels",),
)


def _cmek(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    path = t.CMEK_PATHS.get(args.resource_type)
    if path is None or not config.flag(args.get_config(), "cmekRequired"):
        return
    if not dig(args.props, *path):
        snake = ".".join(re.sub(r"(?<!^)([A-Z])", r"_\1", p).lower() for p in path)
        report(
            violation,
            args.resource_type,
            args.name,
            "is encrypted with a Google-managed key, but the stack requires "
            "customer-managed encryption keys",
            f"set {snake} to a Cloud KMS key in the resource's region, and "
            "grant its service agent roles/cloudkms.cryptoKeyEncrypterDecrypter",
        )


cmek = resource_rule(
    "governance-cmek",
    description=(
        "When the stack requires CMEK (cmekRequired), every store of data at "
        "rest (buckets, datasets, the index and its endpoint, functions, "
        "repositories, topics) names a Cloud KMS key, so access can be revoked "
        "by disabling the key."
    ),
    remediation=(
        "Create a key ring and key in the stack's region, grant each service "
        "agent the encrypter/decrypter role, and set the resource's KMS key."
    ),
    check=_cmek,
    settings=("cmekRequired",),
)


def _classification_rank(name: str) -> int:
    return CLASSIFICATIONS.index(name) if name in CLASSIFICATIONS else -1


def _pii_redaction(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    found = workload(args.resource_type, args.props)
    if found is None or contract.ENV_DOCS_BUCKET not in found.environment:
        return
    cfg = args.get_config()
    stack_class = str(config.value(cfg, "dataClassification")).lower()
    own_class = found.environment.get(contract.ENV_DATA_CLASSIFICATION, "").lower()
    if own_class and own_class not in CLASSIFICATIONS:
        report(
            violation,
            args.resource_type,
            args.name,
            f"is given {contract.ENV_DATA_CLASSIFICATION}={own_class!r}, which "
            "is not a known classification",
            f"set it to one of {', '.join(CLASSIFICATIONS)}",
        )
    effective = max(stack_class, own_class, key=_classification_rank)
    redacting = truthy(found.environment.get(contract.ENV_PII_REDACTION, ""))
    if effective in config.strings(cfg, "redactionRequiredFor") and not redacting:
        report(
            violation,
            args.resource_type,
            args.name,
            f"ingests {effective} data without PII redaction, so personal data "
            "reaches the chunk store and the index",
            f"set {contract.ENV_PII_REDACTION}=true in its environment (the "
            "stack's piiRedaction setting)",
        )


pii_redaction = resource_rule(
    "governance-pii-redaction",
    description=(
        "Ingestion redacts PII when the data classification (the stricter of "
        "the stack's and the function's) requires it: chunks are stored and "
        "served to models, and must not carry personal data."
    ),
    remediation=(
        "Turn on LLMOPS_PII_REDACTION in the ingestion functions' environment, "
        "or lower the classification if the data truly allows it."
    ),
    check=_pii_redaction,
    severity=Severity.CRITICAL,
    settings=("dataClassification", "redactionRequiredFor"),
)


def _environment_of(args: ResourceValidationArgs) -> str:
    configured = str(config.value(args.get_config(), "environment") or "")
    if configured:
        return configured.lower()
    labels = args.props.get("labels")
    if isinstance(labels, Mapping):
        return str(labels.get("environment") or labels.get("env") or "").lower()
    return ""


def _prod_protection(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    flag = DESTROY_FLAGS.get(args.resource_type)
    if flag is None:
        return
    environment = _environment_of(args)
    if environment not in config.strings(args.get_config(), "protectedEnvironments"):
        return
    key, unsafe, fix = flag
    if args.props.get(key) is unsafe:
        report(
            violation,
            args.resource_type,
            args.name,
            f"holds {environment} data but sets {key}={unsafe}, so one destroy "
            "deletes it with its contents",
            f"{fix}, and protect the resource (ResourceOptions(protect=True))",
        )


prod_protection = resource_rule(
    "governance-prod-deletion-protection",
    description=(
        "Production data (buckets, datasets, tables) cannot be destroyed with "
        "its contents: deletion protection stays on, force-destroy stays off."
    ),
    remediation=(
        "In prod keep deletion_protection=True on tables, force_destroy=False "
        "on buckets, delete_contents_on_destroy=False on datasets, and protect "
        "the resources."
    ),
    check=_prod_protection,
    severity=Severity.CRITICAL,
    settings=("environment", "protectedEnvironments"),
)


def _services_kept(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != t.PROJECT_SERVICE:
        return
    if args.props.get("disableOnDestroy") is not False:
        report(
            violation,
            args.resource_type,
            args.name,
            f"disables {args.props.get('service')} when the stack is destroyed, "
            "breaking anything else in the project that uses it",
            "set disable_on_destroy=False",
        )


services_kept = resource_rule(
    "governance-apis-kept-on-destroy",
    description=(
        "Enabled APIs are not disabled on destroy: they are shared with "
        "everything else in the project, and disabling one breaks it there."
    ),
    remediation="Set disable_on_destroy=False on every gcp.projects.Service.",
    check=_services_kept,
    enforcement=ADVISORY,
    severity=Severity.MEDIUM,
)


def _key_rotation(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != t.KMS_CRYPTO_KEY:
        return
    maximum_days = config.number(args.get_config(), "maxKeyRotationDays")
    seconds = as_seconds(args.props.get("rotationPeriod"))
    if seconds is None or seconds > maximum_days * 86400:
        found = "no rotation" if seconds is None else f"rotation every {seconds:.0f} s"
        report(
            violation,
            args.resource_type,
            args.name,
            f"has {found}; keys must rotate at least every {maximum_days:.0f} days",
            f'set rotation_period="{int(maximum_days * 86400)}s" (or shorter)',
        )


key_rotation = resource_rule(
    "governance-kms-key-rotation",
    description=(
        "Customer-managed keys rotate automatically within the configured "
        "period, which limits how much data one key version protects."
    ),
    remediation="Set rotation_period on the crypto key within maxKeyRotationDays.",
    check=_key_rotation,
    enforcement=ADVISORY,
    severity=Severity.MEDIUM,
    settings=("maxKeyRotationDays",),
)

RULES: list[Rule] = [
    allowed_regions,
    required_labels,
    cmek,
    pii_redaction,
    prod_protection,
    services_kept,
    key_rotation,
]
