"""Every rule passes the compliant stack and reports one change that breaks it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from policy_stacks import STACK_CONFIG, Resource, find, resource

from policies.evaluate import evaluate
from policies.pack import ALL


@dataclass(frozen=True)
class Case:
    """One way to break one rule: the change, the resource named, the fix."""

    rule: str
    change: Callable[[list[Resource]], None]
    culprit: str
    fix: str
    config: dict[str, Any] | None = None


def _set(name: str, **changes: Any) -> Callable[[list[Resource]], None]:
    def change(stack: list[Resource]) -> None:
        find(stack, name).update(changes)

    return change


def _nested(name: str, *path: str, value: Any) -> Callable[[list[Resource]], None]:
    def change(stack: list[Resource]) -> None:
        target = find(stack, name)
        for key in path[:-1]:
            target = target[key]
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value

    return change


def _add(type_: str, name: str, **inputs: Any) -> Callable[[list[Resource]], None]:
    def change(stack: list[Resource]) -> None:
        stack.append(resource(type_, name, **inputs))

    return change


def _drop(name: str) -> Callable[[list[Resource]], None]:
    def change(stack: list[Resource]) -> None:
        stack[:] = [entry for entry in stack if entry["name"] != name]

    return change


CASES = [
    Case(
        "storage-no-public-buckets",
        _add(
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            "docs-public",
            bucket="docs",
            role="roles/storage.objectViewer",
            member="allUsers",
        ),
        "docs-public",
        "remove the grant",
    ),
    Case(
        "storage-no-public-buckets",
        _add(
            "gcp:storage/bucketACL:BucketACL",
            "docs-acl",
            bucket="docs",
            roleEntities=["READER:allAuthenticatedUsers"],
        ),
        "docs-acl",
        "remove the grant",
    ),
    Case(
        "storage-uniform-access",
        _set("docs", uniformBucketLevelAccess=False),
        "docs",
        "uniform_bucket_level_access=True",
    ),
    Case(
        "storage-public-access-prevention",
        _set("docs", publicAccessPrevention="inherited"),
        "docs",
        'public_access_prevention="enforced"',
    ),
    Case(
        "storage-prompt-registry-versioning",
        _set("prompt-registry", versioning={"enabled": False}),
        "prompt-registry",
        'versioning={"enabled": True}',
    ),
    Case(
        "storage-prompt-registry-versioning",
        _nested("prompt-registry", "softDeletePolicy", value=None),
        "prompt-registry",
        '"retention_duration_seconds": 604800',
    ),
    Case(
        "iam-no-public-principals",
        _set(
            "monitoring",
            accesses=[{"role": "READER", "specialGroup": "allAuthenticatedUsers"}],
        ),
        "monitoring",
        "name the service account",
    ),
    Case(
        "iam-no-public-principals",
        _add(
            "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
            "templates-public",
            repository="templates",
            role="roles/artifactregistry.reader",
            member="allUsers",
        ),
        "templates-public",
        "name the service account",
    ),
    Case(
        "iam-no-primitive-roles",
        _add(
            "gcp:projects/iAMMember:IAMMember",
            "ops-owner",
            project="p",
            role="roles/owner",
            member="user:ops@example.com",
        ),
        "ops-owner",
        "grant the predefined roles",
    ),
    Case(
        "iam-no-primitive-roles",
        _add(
            "gcp:projects/iAMPolicy:IAMPolicy",
            "project-policy",
            project="p",
            policyData=(
                '{"bindings": [{"role": "roles/editor", "members": ["user:a"]}]}'
            ),
        ),
        "project-policy",
        "grant the predefined roles",
    ),
    Case(
        "iam-no-service-account-keys",
        _add("gcp:serviceaccount/key:Key", "ingest-key", serviceAccountId="ingest"),
        "ingest-key",
        "delete the key resource",
    ),
    Case(
        "iam-no-project-wide-impersonation",
        _add(
            "gcp:projects/iAMMember:IAMMember",
            "act-as-anyone",
            project="p",
            role="roles/iam.serviceAccountUser",
            member="group:ml@example.com",
        ),
        "act-as-anyone",
        "gcp.serviceaccount.IAMMember",
    ),
    Case(
        "functions-not-public",
        _add(
            "gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember",
            "finalize-public",
            cloudFunction="ingest-finalize",
            role="roles/cloudfunctions.invoker",
            member="allUsers",
        ),
        "finalize-public",
        "roles/run.invoker",
    ),
    Case(
        "functions-ingress-internal",
        _nested("ingest-finalize", "serviceConfig", "ingressSettings", value=None),
        "ingest-finalize",
        '"ingress_settings": "ALLOW_INTERNAL_ONLY"',
    ),
    Case(
        "functions-ingress-internal",
        _set("search-api", ingress="INGRESS_TRAFFIC_ALL"),
        "search-api",
        'ingress="INGRESS_TRAFFIC_INTERNAL_ONLY"',
    ),
    Case(
        "functions-max-instances",
        _nested("ingest-delete", "serviceConfig", "maxInstanceCount", value=None),
        "ingest-delete",
        '"max_instance_count": N',
    ),
    Case(
        "functions-max-instances",
        _set("reindex", maxInstances=500.0),
        "reindex",
        "max_instances=N with N at most 100",
    ),
    Case(
        "functions-timeout",
        _nested("ingest-finalize", "serviceConfig", "timeoutSeconds", value=900.0),
        "ingest-finalize",
        '"timeout_seconds": N',
    ),
    Case(
        "functions-timeout",
        _nested("search-api", "template", "timeout", value="7200s"),
        "search-api",
        'template={"timeout": "Ns"}',
    ),
    Case(
        "functions-event-retries",
        _nested(
            "ingest-finalize",
            "eventTrigger",
            "retryPolicy",
            value="RETRY_POLICY_DO_NOT_RETRY",
        ),
        "ingest-finalize",
        '"retry_policy": "RETRY_POLICY_RETRY"',
    ),
    Case(
        "functions-event-retries",
        _nested("reindex", "eventTrigger", "failurePolicy", value=None),
        "reindex",
        '"failure_policy": {"retry": True}',
    ),
    Case(
        "functions-supported-runtime",
        _set("reindex", runtime="python39"),
        "reindex",
        "python311",
    ),
    Case(
        "functions-dedicated-service-accounts",
        _nested("search-api", "template", "serviceAccount", value=None),
        "search-api",
        "create a service account",
    ),
    Case(
        "functions-dedicated-service-accounts",
        _add(
            "gcp:projects/iAMMember:IAMMember",
            "ingest-storage-admin",
            project="p",
            role="roles/storage.admin",
            member="serviceAccount:llmops-ingest@p.iam.gserviceaccount.com",
        ),
        "ingest-finalize",
        "only the roles it uses",
    ),
    Case(
        "functions-dedicated-service-accounts",
        _set("reindex", serviceAccountEmail="llmops-ingest@p.iam.gserviceaccount.com"),
        "reindex",
        "its own service account",
    ),
    Case(
        "functions-storage-agent-publisher",
        _drop("storage-agent-publisher"),
        "ingest-finalize",
        "grant roles/pubsub.publisher",
    ),
    Case(
        "functions-trigger-identity",
        _drop("trigger-receiver"),
        "ingest-finalize",
        "grant roles/eventarc.eventReceiver",
    ),
    Case(
        "functions-trigger-identity",
        _drop("trigger-invoker"),
        "ingest-delete",
        "grant roles/run.invoker",
    ),
    Case(
        "vector-index-streaming",
        _set("chunks-index", indexUpdateMethod="BATCH_UPDATE"),
        "chunks-index",
        'index_update_method="STREAM_UPDATE"',
    ),
    Case(
        "vector-index-dimension",
        _nested("chunks-index", "metadata", "config", "dimensions", value=3072.0),
        "chunks-index",
        '"dimensions": 768',
    ),
    Case(
        "vector-index-distance",
        _nested(
            "chunks-index",
            "metadata",
            "config",
            "distanceMeasureType",
            value="COSINE_DISTANCE",
        ),
        "chunks-index",
        'distance_measure_type="DOT_PRODUCT_DISTANCE"',
    ),
    Case(
        "vector-endpoint-private",
        _set("chunks-endpoint", publicEndpointEnabled=True),
        "chunks-endpoint",
        "public_endpoint_enabled=False",
    ),
    Case(
        "vector-deployed-index-valid",
        _set("chunks-deployed", deployedIndexId="1-chunks"),
        "chunks-deployed",
        "deployed_index_id",
    ),
    Case(
        "vector-deployed-index-valid",
        _set(
            "chunks-deployed",
            automaticResources={"minReplicaCount": 3.0, "maxReplicaCount": 2.0},
        ),
        "chunks-deployed",
        "max_replica_count at least min_replica_count",
    ),
    Case(
        "vector-deployed-index-autoscaling",
        _set(
            "chunks-deployed",
            automaticResources={"minReplicaCount": 1.0, "maxReplicaCount": 1.0},
        ),
        "chunks-deployed",
        '"max_replica_count": N',
    ),
    Case(
        "monitoring-content-retention",
        _set("monitoring", defaultPartitionExpirationMs=None),
        "interactions",
        "expiration_ms",
    ),
    Case(
        "monitoring-content-retention",
        _nested(
            "feedback",
            "timePartitioning",
            "expirationMs",
            value=float(800 * 86_400_000),
        ),
        "feedback",
        "at most 34128000000 ms",
    ),
    Case(
        "monitoring-content-retention",
        _nested("interactions", "timePartitioning", value=None),
        "interactions",
        "time_partitioning",
    ),
    Case(
        "governance-allowed-regions",
        _set("chunks-index", region="us-west2"),
        "chunks-index",
        "set region to one of the allowed regions",
    ),
    Case(
        "governance-allowed-regions",
        _nested("ingest-finalize", "eventTrigger", "triggerRegion", value="asia-east2"),
        "ingest-finalize",
        "set eventTrigger.triggerRegion",
    ),
    Case(
        "governance-required-labels",
        _nested("docs", "labels", "cost-centre", value=None),
        "docs",
        '"cost-centre": ...',
    ),
    Case(
        "governance-required-labels",
        _nested("templates", "labels", "team", value="Platform Team"),
        "templates",
        "lower-case letters",
    ),
    Case(
        "governance-cmek",
        _set("monitoring", defaultEncryptionConfiguration=None),
        "monitoring",
        "default_encryption_configuration.kms_key_name",
    ),
    Case(
        "governance-cmek",
        _nested("search-api", "template", "encryptionKey", value=None),
        "search-api",
        "template.encryption_key",
    ),
    Case(
        "governance-pii-redaction",
        _nested(
            "ingest-finalize",
            "serviceConfig",
            "environmentVariables",
            "LLMOPS_PII_REDACTION",
            value="false",
        ),
        "ingest-finalize",
        "LLMOPS_PII_REDACTION=true",
    ),
    Case(
        "governance-prod-deletion-protection",
        _set("interactions", deletionProtection=False),
        "interactions",
        "deletion_protection=True",
    ),
    Case(
        "governance-prod-deletion-protection",
        _set("docs", forceDestroy=True),
        "docs",
        "force_destroy=False",
    ),
    Case(
        "governance-apis-kept-on-destroy",
        _set("aiplatform-api", disableOnDestroy=True),
        "aiplatform-api",
        "disable_on_destroy=False",
    ),
    Case(
        "governance-kms-key-rotation",
        _set("data", rotationPeriod=None),
        "data",
        'rotation_period="7776000s"',
    ),
]


def _case_id(case: Case) -> str:
    return f"{case.rule}:{case.culprit}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rule_passes_the_compliant_stack(case: Case, stack, violations) -> None:
    """The rule finds nothing wrong with the compliant stack."""
    assert violations(case.rule, stack, case.config) == []


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rule_reports_the_breaking_change(case: Case, stack, violations) -> None:
    """After the change the rule reports the resource by name, with the fix."""
    case.change(stack)

    found = violations(case.rule, stack, case.config)

    assert found, f"{case.rule} reported nothing"
    named = [v for v in found if v["name"] == case.culprit]
    assert named, [v["message"] for v in found]
    message = named[0]["message"]
    assert f"{case.culprit!r}" in message
    assert "Fix: " in message and case.fix in message, message
    assert named[0]["remediation"]


def test_every_rule_has_a_breaking_case() -> None:
    """No rule of the pack goes without a case that makes it fail."""
    assert {rule.name for rule in ALL} == {case.rule for case in CASES}


def test_a_change_breaks_only_its_own_rule(stack) -> None:
    """Making the docs bucket non-uniform trips the uniform-access rule alone."""
    find(stack, "docs")["uniformBucketLevelAccess"] = False

    verdicts = evaluate(stack, STACK_CONFIG)

    assert [v["name"] for v in verdicts if v["violations"]] == [
        "storage-uniform-access"
    ]
