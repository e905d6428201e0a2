"""IAM rules: no public principals, no primitive roles, no long-lived keys."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies import resource_types as t
from policies.rule import ADVISORY, Rule, grants, public_grants, report, resource_rule

PRIMITIVE_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
# Project-wide, these let a principal act as every service account.
IMPERSONATION_ROLES = (
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountTokenCreator",
)


def _no_public_principals(
    args: ResourceValidationArgs, violation: ReportViolation
) -> None:
    # Buckets and workloads have their own rules with their own remediation.
    if args.resource_type.startswith(("gcp:storage/", *t.WORKLOAD_MODULES)):
        return
    for grant in public_grants(args.props):
        report(
            violation,
            args.resource_type,
            args.name,
            f"grants {grant}, which opens it to anyone on the internet",
            "remove the grant and name the service account, group or user that "
            "needs access",
        )


no_public_principals = resource_rule(
    "iam-no-public-principals",
    description=(
        "No IAM grant, ACL or dataset access may name allUsers or "
        "allAuthenticatedUsers: the platform holds private documents, prompts "
        "and responses, and no part of it is meant to be anonymous."
    ),
    remediation=(
        "Replace the public principal with the service account, group or user "
        "that needs access, at the narrowest resource that works."
    ),
    check=_no_public_principals,
    severity=Severity.CRITICAL,
)


def _no_primitive_roles(
    args: ResourceValidationArgs, violation: ReportViolation
) -> None:
    for role, member in grants(args.props):
        if role in PRIMITIVE_ROLES:
            report(
                violation,
                args.resource_type,
                args.name,
                f"grants the primitive role {role} to {member}, which carries "
                "thousands of permissions across every service",
                "grant the predefined roles the principal needs (for example "
                "roles/storage.objectAdmin on one bucket) instead",
            )


no_primitive_roles = resource_rule(
    "iam-no-primitive-roles",
    description=(
        "No grant of roles/owner, roles/editor or roles/viewer: primitive roles "
        "span every service in the project and defeat least privilege."
    ),
    remediation=(
        "Grant the predefined roles the principal needs, on the resource it "
        "needs them on, instead of a primitive role."
    ),
    check=_no_primitive_roles,
    severity=Severity.CRITICAL,
)


def _no_service_account_keys(
    args: ResourceValidationArgs, violation: ReportViolation
) -> None:
    if args.resource_type == t.SERVICE_ACCOUNT_KEY:
        what = "creates a service-account key"
    elif args.resource_type == t.HMAC_KEY:
        what = "creates an HMAC key for a service account"
    else:
        return
    report(
        violation,
        args.resource_type,
        args.name,
        f"{what}: a long-lived secret that leaks into state and never expires",
        "delete the key resource and let workloads use their attached service "
        "account, or workload identity federation from outside Google Cloud",
    )


no_service_account_keys = resource_rule(
    "iam-no-service-account-keys",
    description=(
        "No service-account key or HMAC key resources: they are long-lived "
        "credentials stored in the stack state, and every runtime here can use "
        "an attached service account instead."
    ),
    remediation=(
        "Remove the key; attach the service account to the workload, or use "
        "workload identity federation for callers outside Google Cloud."
    ),
    check=_no_service_account_keys,
    severity=Severity.CRITICAL,
)


def _no_project_impersonation(
    args: ResourceValidationArgs, violation: ReportViolation
) -> None:
    if args.resource_type not in t.PROJECT_IAM:
        return
    for role, member in grants(args.props):
        if role in IMPERSONATION_ROLES:
            report(
                violation,
                args.resource_type,
                args.name,
                f"grants {role} to {member} on the whole project, so it may act "
                "as every service account there",
                "grant the role on the one service account it must act as "
                "(gcp.serviceaccount.IAMMember) instead",
            )


no_project_impersonation = resource_rule(
    "iam-no-project-wide-impersonation",
    description=(
        "Acting as a service account is granted on that account, never on the "
        "project: a project-wide serviceAccountUser can run as any identity, "
        "including the most privileged one."
    ),
    remediation=(
        "Move the grant to gcp.serviceaccount.IAMMember on the service account "
        "to be impersonated (for example the pipeline service account)."
    ),
    check=_no_project_impersonation,
    enforcement=ADVISORY,
    severity=Severity.MEDIUM,
)

RULES: list[Rule] = [
    no_public_principals,
    no_primitive_roles,
    no_service_account_keys,
    no_project_impersonation,
]
