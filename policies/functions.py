"""Rules for functions (gen2 and gen1) and Cloud Run services.

A :class:`Workload` reads the four shapes' inputs into one view (ingress,
scaling, timeout, trigger, identity, environment), so each rule is written
once for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies import config
from policies import resource_types as t
from policies.rule import (
    ADVISORY,
    Rule,
    as_list,
    as_number,
    as_seconds,
    dig,
    grants,
    public_grants,
    report,
    resource_rule,
    stack_rule,
)

INTERNAL_INGRESS = {
    t.FUNCTION_V2: ("ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"),
    t.FUNCTION_V1: ("ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"),
    t.RUN_SERVICE_V2: (
        "INGRESS_TRAFFIC_INTERNAL_ONLY",
        "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    ),
    t.RUN_SERVICE_V1: ("internal", "internal-and-cloud-load-balancing"),
}
INGRESS_FIX = {
    t.FUNCTION_V2: 'set service_config={"ingress_settings": "ALLOW_INTERNAL_ONLY"}',
    t.FUNCTION_V1: 'set ingress_settings="ALLOW_INTERNAL_ONLY"',
    t.RUN_SERVICE_V2: 'set ingress="INGRESS_TRAFFIC_INTERNAL_ONLY"',
    t.RUN_SERVICE_V1: (
        'set the service annotation "run.googleapis.com/ingress" to "internal"'
    ),
}
MAX_INSTANCES_FIX = {
    t.FUNCTION_V2: 'set service_config={"max_instance_count": N}',
    t.FUNCTION_V1: "set max_instances=N",
    t.RUN_SERVICE_V2: 'set template={"scaling": {"max_instance_count": N}}',
    t.RUN_SERVICE_V1: (
        'set the template annotation "autoscaling.knative.dev/maxScale" to N'
    ),
}
TIMEOUT_FIX = {
    t.FUNCTION_V2: 'set service_config={"timeout_seconds": N}',
    t.FUNCTION_V1: "set timeout=N",
    t.RUN_SERVICE_V2: 'set template={"timeout": "Ns"}',
    t.RUN_SERVICE_V1: 'set template={"spec": {"timeout_seconds": N}}',
}
# The identities a workload runs as when none is named.
DEFAULT_IDENTITY_SUFFIXES = (
    "-compute@developer.gserviceaccount.com",
    "@appspot.gserviceaccount.com",
)
STORAGE_EVENT_PREFIX = "google.cloud.storage.object.v1."
STORAGE_AGENT_DOMAIN = "@gs-project-accounts.iam.gserviceaccount.com"
PUBLISHER_ROLE = "roles/pubsub.publisher"
EVENT_RECEIVER_ROLE = "roles/eventarc.eventReceiver"
INVOKER_ROLES = ("roles/run.invoker", "roles/cloudfunctions.invoker")
# Roles a workload's own identity must never hold on the project.
PRIVILEGED_ROLES = (
    "roles/owner",
    "roles/editor",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountKeyAdmin",
    "roles/iam.securityAdmin",
    "roles/resourcemanager.projectIamAdmin",
)


@dataclass(frozen=True)
class Workload:
    """What the rules need from a function or service, whatever its shape."""

    resource_type: str
    ingress: str
    max_instances: float | None
    timeout_seconds: float | None
    event_type: str | None
    retries: bool
    service_account: str | None
    trigger_service_account: str | None
    runtime: str | None
    source: str
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def event_driven(self) -> bool:
        """Whether the workload is triggered by events rather than requests."""
        return self.event_type is not None

    @property
    def storage_triggered(self) -> bool:
        """Whether Cloud Storage events trigger it through Eventarc (gen2)."""
        return self.resource_type == t.FUNCTION_V2 and str(
            self.event_type or ""
        ).startswith(STORAGE_EVENT_PREFIX)


def _env_pairs(containers: Any) -> dict[str, str]:
    env: dict[str, str] = {}
    for container in as_list(containers):
        for pair in as_list(dig(container, "envs")):
            name = dig(pair, "name")
            if isinstance(name, str):
                env[name] = str(dig(pair, "value") or "")
    return env


def _env_map(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(key): str(val) for key, val in raw.items()}


def workload(resource_type: str, props: Mapping[str, Any]) -> Workload | None:
    """Read a function's or service's inputs, or None for any other type."""
    if resource_type == t.FUNCTION_V2:
        service = dig(props, "serviceConfig") or {}
        trigger = dig(props, "eventTrigger")
        storage = dig(props, "buildConfig", "source", "storageSource") or {}
        return Workload(
            resource_type,
            ingress=str(dig(service, "ingressSettings") or "ALLOW_ALL"),
            max_instances=as_number(dig(service, "maxInstanceCount")),
            timeout_seconds=as_number(dig(service, "timeoutSeconds")),
            event_type=dig(trigger, "eventType") if trigger else None,
            retries=dig(trigger, "retryPolicy") == "RETRY_POLICY_RETRY",
            service_account=dig(service, "serviceAccountEmail"),
            trigger_service_account=dig(trigger, "serviceAccountEmail"),
            runtime=dig(props, "buildConfig", "runtime"),
            source=f"{dig(storage, 'bucket')}/{dig(storage, 'object')}",
            environment=_env_map(dig(service, "environmentVariables")),
        )
    if resource_type == t.FUNCTION_V1:
        trigger = dig(props, "eventTrigger")
        return Workload(
            resource_type,
            ingress=str(props.get("ingressSettings") or "ALLOW_ALL"),
            max_instances=as_number(props.get("maxInstances")),
            timeout_seconds=as_number(props.get("timeout")),
            event_type=dig(trigger, "eventType") if trigger else None,
            retries=dig(trigger, "failurePolicy", "retry") is True,
            service_account=props.get("serviceAccountEmail"),
            trigger_service_account=None,
            runtime=props.get("runtime"),
            source=(
                f"{props.get('sourceArchiveBucket')}/{props.get('sourceArchiveObject')}"
            ),
            environment=_env_map(props.get("environmentVariables")),
        )
    if resource_type == t.RUN_SERVICE_V2:
        template = dig(props, "template") or {}
        containers = as_list(dig(template, "containers"))
        return Workload(
            resource_type,
            ingress=str(props.get("ingress") or "INGRESS_TRAFFIC_ALL"),
            max_instances=as_number(dig(template, "scaling", "maxInstanceCount")),
            timeout_seconds=as_seconds(dig(template, "timeout")),
            event_type=None,
            retries=False,
            service_account=dig(template, "serviceAccount"),
            trigger_service_account=None,
            runtime=None,
            source=",".join(str(dig(c, "image")) for c in containers),
            environment=_env_pairs(containers),
        )
    if resource_type == t.RUN_SERVICE_V1:
        spec = dig(props, "template", "spec") or {}
        containers = as_list(dig(spec, "containers"))
        annotations = dig(props, "template", "metadata", "annotations") or {}
        service_annotations = dig(props, "metadata", "annotations") or {}
        return Workload(
            resource_type,
            ingress=str(
                dig(service_annotations, "run.googleapis.com/ingress") or "all"
            ),
            max_instances=as_number(
                dig(annotations, "autoscaling.knative.dev/maxScale")
            ),
            timeout_seconds=as_number(dig(spec, "timeoutSeconds")),
            event_type=None,
            retries=False,
            service_account=dig(spec, "serviceAccountName"),
            trigger_service_account=None,
            runtime=None,
            source=",".join(str(dig(c, "image")) for c in containers),
            environment=_env_pairs(containers),
        )
    return None


def _not_public(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if not args.resource_type.startswith(t.WORKLOAD_MODULES):
        return
    for grant in public_grants(args.props):
        report(
            violation,
            args.resource_type,
            args.name,
            f"grants {grant}, so anyone on the internet may invoke it",
            "remove the grant and give roles/run.invoker (or "
            "roles/cloudfunctions.invoker) to the caller's service account",
        )


not_public = resource_rule(
    "functions-not-public",
    description=(
        "No function or Cloud Run service may be invocable by allUsers or "
        "allAuthenticatedUsers: an open ingestion endpoint lets anyone spend "
        "the project's quota and write into the index."
    ),
    remediation=(
        "Remove the public invoker grant; grant roles/run.invoker to the named "
        "service account that calls the workload (the event trigger's identity)."
    ),
    check=_not_public,
    severity=Severity.CRITICAL,
)


def _ingress_internal(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    found = workload(args.resource_type, args.props)
    if found is None or found.ingress in INTERNAL_INGRESS[args.resource_type]:
        return
    report(
        violation,
        args.resource_type,
        args.name,
        f"accepts traffic from the internet (ingress {found.ingress})",
        INGRESS_FIX[args.resource_type],
    )


ingress_internal = resource_rule(
    "functions-ingress-internal",
    description=(
        "Functions and services accept internal traffic only: Eventarc and "
        "callers in the project reach them internally, and an internet-facing "
        "URL is attack surface nobody uses."
    ),
    remediation=(
        "Set the ingress to internal only (ALLOW_INTERNAL_ONLY, or "
        "INGRESS_TRAFFIC_INTERNAL_ONLY for Cloud Run); put a load balancer in "
        "front if an external caller is truly needed."
    ),
    check=_ingress_internal,
)


def _max_instances(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    found = workload(args.resource_type, args.props)
    if found is None:
        return
    limit = config.number(args.get_config(), "maxInstances")
    if found.max_instances is None or found.max_instances < 1:
        report(
            violation,
            args.resource_type,
            args.name,
            "sets no max instance count, so a burst of uploads can scale it "
            "without bound (and exhaust embedding quota)",
            f"{MAX_INSTANCES_FIX[args.resource_type]} with N at most {limit:.0f}",
        )
    elif found.max_instances > limit:
        report(
            violation,
            args.resource_type,
            args.name,
            f"allows {found.max_instances:.0f} instances, above the limit of "
            f"{limit:.0f}",
            f"{MAX_INSTANCES_FIX[args.resource_type]} with N at most {limit:.0f}, "
            "or raise the maxInstances policy setting",
        )


max_instances = resource_rule(
    "functions-max-instances",
    description=(
        "Every function and service sets a max instance count within the "
        "configured limit: it bounds cost and protects the embedding and "
        "BigQuery quotas downstream from a burst of events."
    ),
    remediation="Set the max instance count to a number within maxInstances.",
    check=_max_instances,
    settings=("maxInstances",),
)


def _timeout(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    found = workload(args.resource_type, args.props)
    if found is None or found.timeout_seconds is None:
        return
    cfg = args.get_config()
    event_limited = found.event_driven or args.resource_type == t.FUNCTION_V1
    key = "maxEventTimeoutSeconds" if event_limited else "maxHttpTimeoutSeconds"
    limit = config.number(cfg, key)
    if found.timeout_seconds > limit or found.timeout_seconds <= 0:
        kind = "an event-driven" if found.event_driven else "a"
        report(
            violation,
            args.resource_type,
            args.name,
            f"has a timeout of {found.timeout_seconds:.0f} s, outside the "
            f"1-{limit:.0f} s allowed for {kind} workload of this kind",
            f"{TIMEOUT_FIX[args.resource_type]} with N between 1 and {limit:.0f}",
        )


timeout = resource_rule(
    "functions-timeout",
    description=(
        "Timeouts stay within the platform's limits (540 s for event-driven "
        "functions, 3600 s for HTTP): a longer one is rejected at deploy time, "
        "after every other resource was already changed."
    ),
    remediation=(
        "Set the timeout within maxEventTimeoutSeconds (event functions and "
        "gen1) or maxHttpTimeoutSeconds (HTTP functions and services)."
    ),
    check=_timeout,
    settings=("maxEventTimeoutSeconds", "maxHttpTimeoutSeconds"),
)


def _event_retries(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    found = workload(args.resource_type, args.props)
    if found is None or not found.event_driven or found.retries:
        return
    fix = (
        'set event_trigger={"retry_policy": "RETRY_POLICY_RETRY", ...}'
        if args.resource_type == t.FUNCTION_V2
        else 'set event_trigger={"failure_policy": {"retry": True}, ...}'
    )
    report(
        violation,
        args.resource_type,
        args.name,
        f"handles {found.event_type} events without retries, so a transient "
        "failure silently drops a document",
        fix,
    )


event_retries = resource_rule(
    "functions-event-retries",
    description=(
        "Event-driven functions retry on failure: the ingestion handlers raise "
        "on transient errors precisely so that the event is delivered again."
    ),
    remediation=(
        "Turn retries on: retry_policy RETRY_POLICY_RETRY (gen2) or "
        "failure_policy.retry (gen1)."
    ),
    check=_event_retries,
)


def _runtime(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    found = workload(args.resource_type, args.props)
    if found is None or found.runtime is None:
        return
    allowed = config.strings(args.get_config(), "allowedRuntimes")
    if str(found.runtime).lower() not in allowed:
        report(
            violation,
            args.resource_type,
            args.name,
            f"uses runtime {found.runtime!r}, which the platform does not "
            f"support (supported: {', '.join(allowed)})",
            f"build it with one of {', '.join(allowed)}",
        )


runtime = resource_rule(
    "functions-supported-runtime",
    description=(
        "Functions use a runtime the platform's package supports, so the "
        "deployed code runs the same interpreter its tests ran on."
    ),
    remediation="Set the build runtime to one listed in allowedRuntimes.",
    check=_runtime,
    enforcement=ADVISORY,
    severity=Severity.LOW,
    settings=("allowedRuntimes",),
)


def workloads(args: StackValidationArgs) -> list[tuple[PolicyResource, Workload]]:
    """Every function and service of the stack, with its reading."""
    found = []
    for resource in args.resources:
        reading = workload(resource.resource_type, resource.props)
        if reading is not None:
            found.append((resource, reading))
    return found


def project_grants(args: StackValidationArgs) -> list[tuple[str, str]]:
    """Every (role, member) the stack grants on the project."""
    pairs: list[tuple[str, str]] = []
    for resource in args.resources:
        if resource.resource_type in t.PROJECT_IAM:
            pairs.extend(grants(resource.props))
    return pairs


def _dedicated_accounts(args: StackValidationArgs, violation: ReportViolation) -> None:
    found = workloads(args)
    on_project = project_grants(args)
    sources_by_account: dict[str, set[str]] = {}
    for resource, reading in found:
        account = reading.service_account
        if not account or str(account).endswith(DEFAULT_IDENTITY_SUFFIXES):
            report(
                violation,
                resource.resource_type,
                resource.name,
                "runs as the project's default compute identity, which holds "
                "broad rights on the whole project",
                "create a service account for it and set it as the runtime "
                "service account (service_config.service_account_email)",
                resource.urn,
            )
            continue
        sources_by_account.setdefault(str(account), set()).add(reading.source)
        if reading.trigger_service_account == account:
            report(
                violation,
                resource.resource_type,
                resource.name,
                f"uses {account} both to run and to trigger it, so the runtime "
                "identity can invoke itself and receive events",
                "give the event trigger its own service account",
                resource.urn,
            )
        for role, member in on_project:
            if member == f"serviceAccount:{account}" and (
                role in PRIVILEGED_ROLES or role.lower().endswith("admin")
            ):
                report(
                    violation,
                    resource.resource_type,
                    resource.name,
                    f"runs as {account}, which holds {role} on the project",
                    "grant that account only the roles it uses, on the bucket, "
                    "dataset or index it uses them on",
                    resource.urn,
                )
    for resource, reading in found:
        account = str(reading.service_account or "")
        if len(sources_by_account.get(account, ())) > 1:
            report(
                violation,
                resource.resource_type,
                resource.name,
                f"shares its service account {account} with a workload running "
                "other code, so each holds the other's rights",
                "give each workload (each distinct source) its own service account",
                resource.urn,
            )


dedicated_accounts = stack_rule(
    "functions-dedicated-service-accounts",
    description=(
        "Every function and service runs as its own least-privilege service "
        "account: not the default compute identity, not shared with different "
        "code or with its trigger, and with no admin or primitive role on the "
        "project."
    ),
    remediation=(
        "Create one service account per workload (functions built from the "
        "same source may share one), set it as the runtime identity, and grant "
        "it only resource-level roles."
    ),
    check=_dedicated_accounts,
)


def _storage_agent(args: StackValidationArgs, violation: ReportViolation) -> None:
    triggered = [(r, w) for r, w in workloads(args) if w.storage_triggered]
    if not triggered:
        return
    # Limitation: the grant's existence is checked, not that each function
    # depends on it, until captured plans carry every resource's dependencies
    # reliably (component-level depends_on is expanded by the engine only).
    bound = any(
        role == PUBLISHER_ROLE and member.endswith(STORAGE_AGENT_DOMAIN)
        for role, member in project_grants(args)
    )
    if bound:
        return
    for resource, reading in triggered:
        report(
            violation,
            resource.resource_type,
            resource.name,
            f"is triggered by {reading.event_type}, but the Cloud Storage "
            "service agent is not granted roles/pubsub.publisher, so no event "
            "is ever delivered",
            "grant roles/pubsub.publisher on the project to the storage agent "
            "(gcp.storage.get_project_service_account().email_address) and make "
            "the function depend on that grant",
            resource.urn,
        )


storage_agent = stack_rule(
    "functions-storage-agent-publisher",
    description=(
        "When a function has a Cloud Storage trigger, the Cloud Storage service "
        "agent holds roles/pubsub.publisher: without it the trigger is created "
        "but no object event reaches the function."
    ),
    remediation=(
        "Declare gcp.projects.IAMMember(role='roles/pubsub.publisher', member="
        "'serviceAccount:' + the storage agent's email) and depend on it."
    ),
    check=_storage_agent,
)


def _invoker_grants(args: StackValidationArgs) -> set[str]:
    members: set[str] = set()
    for resource in args.resources:
        if resource.resource_type in t.PROJECT_IAM or resource.resource_type.startswith(
            t.WORKLOAD_MODULES
        ):
            for role, member in grants(resource.props):
                if role in INVOKER_ROLES:
                    members.add(member)
    return members


def _trigger_identity(args: StackValidationArgs, violation: ReportViolation) -> None:
    receivers = {m for r, m in project_grants(args) if r == EVENT_RECEIVER_ROLE}
    invokers = _invoker_grants(args)
    for resource, reading in workloads(args):
        if resource.resource_type != t.FUNCTION_V2 or not reading.event_driven:
            continue
        account = reading.trigger_service_account
        if not account:
            report(
                violation,
                resource.resource_type,
                resource.name,
                "has an event trigger with no service account of its own",
                'set event_trigger={"service_account_email": ...} to a trigger '
                "service account",
                resource.urn,
            )
            continue
        member = f"serviceAccount:{account}"
        if member not in receivers:
            report(
                violation,
                resource.resource_type,
                resource.name,
                f"is triggered as {account}, which is not granted "
                f"{EVENT_RECEIVER_ROLE}",
                f"grant {EVENT_RECEIVER_ROLE} on the project to {member}",
                resource.urn,
            )
        if member not in invokers:
            report(
                violation,
                resource.resource_type,
                resource.name,
                f"is triggered as {account}, which may not invoke it",
                f"grant roles/run.invoker to {member} on the function's service "
                "(or on the project)",
                resource.urn,
            )


trigger_identity = stack_rule(
    "functions-trigger-identity",
    description=(
        "Each gen2 event trigger has its own service account holding "
        "roles/eventarc.eventReceiver and the right to invoke the function: "
        "without either, events are accepted and then never delivered."
    ),
    remediation=(
        "Create a trigger service account, set it as event_trigger."
        "service_account_email, grant it roles/eventarc.eventReceiver on the "
        "project and roles/run.invoker on the function."
    ),
    check=_trigger_identity,
)

RULES: list[Rule] = [
    not_public,
    ingress_internal,
    max_instances,
    timeout,
    event_retries,
    runtime,
    dedicated_accounts,
    storage_agent,
    trigger_identity,
]
