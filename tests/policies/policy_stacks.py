"""Captured stacks for the policy tests: a compliant prod stack and helpers."""

from __future__ import annotations

from typing import Any

from policies.evaluate import evaluate
from policies.pack import ALL

REGION = "europe-west1"
KEY = f"projects/p/locations/{REGION}/keyRings/keys/cryptoKeys/data"
INGEST_SA = "llmops-ingest@p.iam.gserviceaccount.com"
TRIGGER_SA = "llmops-trigger@p.iam.gserviceaccount.com"
SEARCH_SA = "llmops-search@p.iam.gserviceaccount.com"
REINDEX_SA = "llmops-reindex@p.iam.gserviceaccount.com"
STORAGE_AGENT = "service-123@gs-project-accounts.iam.gserviceaccount.com"
LABELS = {
    "team": "platform",
    "use-case": "shared",
    "environment": "prod",
    "cost-centre": "cc-1234",
}
# What the compliant stack asks of the pack.
STACK_CONFIG = {"cmekRequired": True, "dataClassification": "confidential"}

Resource = dict[str, Any]


def resource(type_: str, name: str, **inputs: Any) -> Resource:
    """A captured resource as ``llmops plan`` gives it."""
    return {
        "type": type_,
        "name": name,
        "urn": f"urn:pulumi:prod::llmops::{type_}::{name}",
        "inputs": inputs,
        "dependencies": [],
    }


def _function(name: str, event_type: str) -> Resource:
    return resource(
        "gcp:cloudfunctionsv2/function:Function",
        name,
        location=REGION,
        labels=dict(LABELS),
        kmsKeyName=KEY,
        buildConfig={
            "runtime": "python311",
            "entryPoint": name.replace("-", "_"),
            "source": {"storageSource": {"bucket": "src", "object": "ingest-ab12.zip"}},
        },
        serviceConfig={
            "maxInstanceCount": 10.0,
            "timeoutSeconds": 540.0,
            "ingressSettings": "ALLOW_INTERNAL_ONLY",
            "serviceAccountEmail": INGEST_SA,
            "environmentVariables": {
                "LLMOPS_DOCS_BUCKET": "docs",
                "LLMOPS_PII_REDACTION": "true",
                "LLMOPS_DATA_CLASSIFICATION": "confidential",
                "LLMOPS_EMBEDDING_MODEL": "text-embedding-005",
                "LLMOPS_EMBEDDING_DIMENSIONS": "768",
            },
        },
        eventTrigger={
            "eventType": event_type,
            "retryPolicy": "RETRY_POLICY_RETRY",
            "triggerRegion": REGION,
            "serviceAccountEmail": TRIGGER_SA,
            "eventFilters": [{"attribute": "bucket", "value": "docs"}],
        },
    )


def _grant(name: str, role: str, member: str) -> Resource:
    return resource(
        "gcp:projects/iAMMember:IAMMember", name, project="p", role=role, member=member
    )


def compliant_stack() -> list[Resource]:
    """A prod stack that passes every rule, advisory ones included."""
    day_ms = 86_400_000
    return [
        resource(
            "gcp:storage/bucket:Bucket",
            "docs",
            location="EUROPE-WEST1",
            uniformBucketLevelAccess=True,
            publicAccessPrevention="enforced",
            forceDestroy=False,
            labels=dict(LABELS),
            encryption={"defaultKmsKeyName": KEY},
        ),
        resource(
            "gcp:storage/bucket:Bucket",
            "prompt-registry",
            location="EUROPE-WEST1",
            uniformBucketLevelAccess=True,
            publicAccessPrevention="enforced",
            versioning={"enabled": True},
            softDeletePolicy={"retentionDurationSeconds": 604800.0},
            labels=dict(LABELS),
            encryption={"defaultKmsKeyName": KEY},
        ),
        resource(
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            "docs-reader",
            bucket="docs",
            role="roles/storage.objectViewer",
            member=f"serviceAccount:{INGEST_SA}",
        ),
        resource("gcp:serviceaccount/account:Account", "ingest-sa", accountId="ingest"),
        resource("gcp:serviceaccount/account:Account", "trigger-sa", accountId="trig"),
        resource(
            "gcp:serviceaccount/iAMMember:IAMMember",
            "pipeline-act-as",
            serviceAccountId="projects/p/serviceAccounts/pipeline@p",
            role="roles/iam.serviceAccountUser",
            member="group:ml-engineers@example.com",
        ),
        _grant(
            "storage-agent-publisher",
            "roles/pubsub.publisher",
            f"serviceAccount:{STORAGE_AGENT}",
        ),
        _grant(
            "trigger-receiver",
            "roles/eventarc.eventReceiver",
            f"serviceAccount:{TRIGGER_SA}",
        ),
        _grant("trigger-invoker", "roles/run.invoker", f"serviceAccount:{TRIGGER_SA}"),
        _grant("ingest-vertex", "roles/aiplatform.user", f"serviceAccount:{INGEST_SA}"),
        _function("ingest-finalize", "google.cloud.storage.object.v1.finalized"),
        _function("ingest-delete", "google.cloud.storage.object.v1.deleted"),
        resource(
            "gcp:cloudfunctions/function:Function",
            "reindex",
            region=REGION,
            runtime="python311",
            maxInstances=2.0,
            timeout=300.0,
            ingressSettings="ALLOW_INTERNAL_ONLY",
            serviceAccountEmail=REINDEX_SA,
            sourceArchiveBucket="src",
            sourceArchiveObject="reindex-cd34.zip",
            labels=dict(LABELS),
            kmsKeyName=KEY,
            eventTrigger={
                "eventType": "google.pubsub.topic.publish",
                "resource": "reindex",
                "failurePolicy": {"retry": True},
            },
        ),
        resource(
            "gcp:cloudrunv2/service:Service",
            "search-api",
            location=REGION,
            ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
            labels=dict(LABELS),
            template={
                "serviceAccount": SEARCH_SA,
                "timeout": "300s",
                "encryptionKey": KEY,
                "scaling": {"maxInstanceCount": 5.0},
                "containers": [{"image": "europe-docker.pkg.dev/p/r/search:1"}],
            },
        ),
        resource(
            "gcp:bigquery/dataset:Dataset",
            "monitoring",
            datasetId="llmops",
            location="EU",
            defaultPartitionExpirationMs=float(90 * day_ms),
            deleteContentsOnDestroy=False,
            labels=dict(LABELS),
            defaultEncryptionConfiguration={"kmsKeyName": KEY},
        ),
        resource(
            "gcp:bigquery/table:Table",
            "interactions",
            datasetId="llmops",
            tableId="interactions",
            deletionProtection=True,
            labels=dict(LABELS),
            timePartitioning={"type": "DAY", "field": "request_time"},
            schema='[{"name": "prompt", "type": "STRING"}]',
        ),
        resource(
            "gcp:bigquery/table:Table",
            "feedback",
            datasetId="llmops",
            tableId="feedback",
            labels=dict(LABELS),
            timePartitioning={
                "type": "DAY",
                "field": "feedback_time",
                "expirationMs": float(30 * day_ms),
            },
        ),
        resource(
            "gcp:bigquery/table:Table",
            "ingestion-events",
            datasetId="llmops",
            tableId="ingestion_events",
            labels=dict(LABELS),
        ),
        resource(
            "gcp:bigquery/table:Table",
            "feedback-daily",
            datasetId="llmops",
            tableId="feedback_daily",
            labels=dict(LABELS),
            view={"query": "SELECT 1", "useLegacySql": False},
        ),
        resource(
            "gcp:vertex/aiIndex:AiIndex",
            "chunks-index",
            region=REGION,
            indexUpdateMethod="STREAM_UPDATE",
            labels=dict(LABELS),
            encryptionSpec={"kmsKeyName": KEY},
            metadata={
                "config": {
                    "dimensions": 768.0,
                    "distanceMeasureType": "DOT_PRODUCT_DISTANCE",
                    "featureNormType": "UNIT_L2_NORM",
                }
            },
        ),
        resource(
            "gcp:vertex/aiIndexEndpoint:AiIndexEndpoint",
            "chunks-endpoint",
            region=REGION,
            publicEndpointEnabled=False,
            labels=dict(LABELS),
            encryptionSpec={"kmsKeyName": KEY},
        ),
        resource(
            "gcp:vertex/aiIndexEndpointDeployedIndex:AiIndexEndpointDeployedIndex",
            "chunks-deployed",
            deployedIndexId="llmops_chunks",
            automaticResources={"minReplicaCount": 1.0, "maxReplicaCount": 2.0},
        ),
        resource(
            "gcp:artifactregistry/repository:Repository",
            "templates",
            location=REGION,
            format="KFP",
            labels=dict(LABELS),
            kmsKeyName=KEY,
        ),
        resource("gcp:kms/keyRing:KeyRing", "keys", location=REGION),
        resource(
            "gcp:kms/cryptoKey:CryptoKey",
            "data",
            rotationPeriod="7776000s",
            labels=dict(LABELS),
        ),
        resource(
            "gcp:projects/service:Service",
            "aiplatform-api",
            service="aiplatform.googleapis.com",
            disableOnDestroy=False,
        ),
    ]


def find(stack: list[Resource], name: str) -> dict[str, Any]:
    """The inputs of the named resource, to change in place."""
    for entry in stack:
        if entry["name"] == name:
            return entry["inputs"]
    raise KeyError(name)


def rule_violations(
    rule_name: str, stack: list[Resource], config: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The violations one rule reports on a stack."""
    rule = next(rule for rule in ALL if rule.name == rule_name)
    [verdict] = evaluate(stack, config, rules=[rule])
    return verdict["violations"]
