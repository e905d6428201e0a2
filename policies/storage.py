"""Cloud Storage rules: nothing public, uniform access, a recoverable registry."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies import config
from policies.resource_types import BUCKET
from policies.rule import Rule, as_number, dig, public_grants, report, resource_rule


def _no_public_buckets(
    args: ResourceValidationArgs, violation: ReportViolation
) -> None:
    if not args.resource_type.startswith("gcp:storage/"):
        return
    for grant in public_grants(args.props):
        report(
            violation,
            args.resource_type,
            args.name,
            f"grants {grant}, which makes bucket data readable by anyone",
            "remove the grant and give named service accounts or groups a "
            "bucket-level role instead (for example roles/storage.objectViewer)",
        )


no_public_buckets = resource_rule(
    "storage-no-public-buckets",
    description=(
        "No bucket or object may be readable by allUsers or allAuthenticatedUsers: "
        "documents, chunks and prompts are private data, and one public grant "
        "exposes all of them."
    ),
    remediation=(
        "Delete the public IAM member, binding entry, ACL or canned ACL; grant "
        "a bucket-level role to the service account or group that needs it."
    ),
    check=_no_public_buckets,
    severity=Severity.CRITICAL,
)


def _uniform_access(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != BUCKET:
        return
    if args.props.get("uniformBucketLevelAccess") is not True:
        report(
            violation,
            args.resource_type,
            args.name,
            "does not enable uniform bucket-level access, so object ACLs can "
            "grant access that bucket IAM does not show",
            "set uniform_bucket_level_access=True on the bucket",
        )


uniform_access = resource_rule(
    "storage-uniform-access",
    description=(
        "Every bucket uses uniform bucket-level access, so IAM is the only "
        "access control and no per-object ACL can bypass it."
    ),
    remediation="Set uniform_bucket_level_access=True on the bucket.",
    check=_uniform_access,
)


def _public_access_prevention(
    args: ResourceValidationArgs, violation: ReportViolation
) -> None:
    if args.resource_type != BUCKET:
        return
    prevention = args.props.get("publicAccessPrevention")
    if prevention != "enforced":
        report(
            violation,
            args.resource_type,
            args.name,
            f"has publicAccessPrevention {prevention!r}, so a later grant could "
            "still make it public",
            'set public_access_prevention="enforced" on the bucket',
        )


public_access_prevention = resource_rule(
    "storage-public-access-prevention",
    description=(
        "Every bucket enforces public access prevention, which blocks any public "
        "grant even if one is added later by hand."
    ),
    remediation='Set public_access_prevention="enforced" on the bucket.',
    check=_public_access_prevention,
)


def is_prompt_registry(args: ResourceValidationArgs) -> bool:
    """Whether a bucket is the prompt registry (by name, URN or bucket name)."""
    needle = str(config.value(args.get_config(), "promptRegistryMatch")).lower()
    if not needle:
        return False
    haystack = " ".join(
        str(part) for part in (args.name, args.urn, args.props.get("name") or "")
    )
    return needle in haystack.lower()


def _prompt_registry(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != BUCKET or not is_prompt_registry(args):
        return
    if dig(args.props, "versioning", "enabled") is not True:
        report(
            violation,
            args.resource_type,
            args.name,
            "is the prompt registry but does not keep object versions, so an "
            "overwritten template version cannot be recovered",
            'set versioning={"enabled": True} on the bucket',
        )
    minimum_days = config.number(args.get_config(), "softDeleteMinDays")
    seconds = as_number(dig(args.props, "softDeletePolicy", "retentionDurationSeconds"))
    if seconds is None or seconds < minimum_days * 86400:
        found = "no soft-delete policy" if seconds is None else f"{seconds:.0f} s"
        report(
            violation,
            args.resource_type,
            args.name,
            f"is the prompt registry with {found}; deleted templates must stay "
            f"recoverable for at least {minimum_days:.0f} days",
            'set soft_delete_policy={"retention_duration_seconds": '
            f"{int(minimum_days * 86400)}}} (or longer) on the bucket",
        )


prompt_registry_versioning = resource_rule(
    "storage-prompt-registry-versioning",
    description=(
        "The prompt registry bucket keeps every object version and soft-deletes, "
        "so a pushed, promoted or deleted template can always be recovered."
    ),
    remediation=(
        'Set versioning={"enabled": True} and soft_delete_policy='
        '{"retention_duration_seconds": N} with N at least softDeleteMinDays days.'
    ),
    check=_prompt_registry,
    settings=("promptRegistryMatch", "softDeleteMinDays"),
)

RULES: list[Rule] = [
    no_public_buckets,
    uniform_access,
    public_access_prevention,
    prompt_registry_versioning,
]
