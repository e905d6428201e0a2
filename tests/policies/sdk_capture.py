"""Declare a small stack with the pulumi-gcp SDK under mocks; print its inputs.

Run as a script (``python sdk_capture.py compliant|broken``) so the mocks'
global state stays in its own process. The output is the list of captured
resources in the form ``llmops plan`` gives, with the engine's camelCase
input names, so the tests prove the rules read the names the SDK sends.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)

import pulumi  # noqa: E402

captured: list[dict[str, Any]] = []


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        captured.append(
            {
                "type": args.typ,
                "name": args.name,
                "urn": f"urn:pulumi:sdk::llmops::{args.typ}::{args.name}",
                "inputs": args.inputs,
                "dependencies": [],
            }
        )
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


pulumi.runtime.set_mocks(_Mocks(), preview=False)

import pulumi_gcp as gcp  # noqa: E402

REGION = "europe-west1"
LABELS = {"team": "t", "use-case": "u", "environment": "prod", "cost-centre": "c"}
INGEST_SA = "ingest@p.iam.gserviceaccount.com"
TRIGGER_SA = "trigger@p.iam.gserviceaccount.com"


def declare(broken: bool) -> None:
    """The compliant stack, or one with a fault per area when ``broken``."""
    gcp.storage.Bucket(
        "prompt-registry",
        location="EU",
        uniform_bucket_level_access=not broken,
        public_access_prevention="enforced",
        versioning={"enabled": True},
        soft_delete_policy={"retention_duration_seconds": 604800},
        labels=LABELS,
    )
    gcp.projects.IAMMember(
        "storage-agent",
        project="p",
        role="roles/pubsub.publisher",
        member="serviceAccount:service-1@gs-project-accounts.iam.gserviceaccount.com",
    )
    gcp.projects.IAMMember(
        "receiver",
        project="p",
        role="roles/owner" if broken else "roles/eventarc.eventReceiver",
        member=f"serviceAccount:{TRIGGER_SA}",
    )
    gcp.projects.IAMMember(
        "invoker",
        project="p",
        role="roles/run.invoker",
        member=f"serviceAccount:{TRIGGER_SA}",
    )
    gcp.cloudfunctionsv2.Function(
        "ingest-finalize",
        location=REGION,
        labels=LABELS,
        build_config={
            "runtime": "python311",
            "entry_point": "on_object_finalized",
            "source": {"storage_source": {"bucket": "src", "object": "a.zip"}},
        },
        service_config={
            "max_instance_count": 10,
            "timeout_seconds": 540,
            "ingress_settings": "ALLOW_ALL" if broken else "ALLOW_INTERNAL_ONLY",
            "service_account_email": INGEST_SA,
            "environment_variables": {
                "LLMOPS_DOCS_BUCKET": "docs",
                "LLMOPS_EMBEDDING_DIMENSIONS": "768",
                "LLMOPS_PII_REDACTION": "true",
            },
        },
        event_trigger={
            "event_type": "google.cloud.storage.object.v1.finalized",
            "retry_policy": "RETRY_POLICY_RETRY",
            "trigger_region": REGION,
            "service_account_email": TRIGGER_SA,
        },
    )
    gcp.bigquery.Dataset(
        "monitoring",
        dataset_id="llmops",
        location="EU",
        default_partition_expiration_ms=None if broken else 90 * 86_400_000,
        labels=LABELS,
    )
    gcp.bigquery.Table(
        "interactions",
        dataset_id="llmops",
        table_id="interactions",
        deletion_protection=True,
        time_partitioning={"type": "DAY", "field": "request_time"},
        labels=LABELS,
    )
    gcp.vertex.AiIndex(
        "chunks-index",
        region=REGION,
        display_name="chunks",
        index_update_method="BATCH_UPDATE" if broken else "STREAM_UPDATE",
        labels=LABELS,
        metadata={
            "config": {
                "dimensions": 768,
                "distance_measure_type": "DOT_PRODUCT_DISTANCE",
                "feature_norm_type": "UNIT_L2_NORM",
            }
        },
    )
    gcp.vertex.AiIndexEndpoint(
        "chunks-endpoint",
        region=REGION,
        display_name="chunks",
        public_endpoint_enabled=broken,
        labels=LABELS,
    )


@pulumi.runtime.test
def _run() -> pulumi.Output[Any]:
    declare(broken=sys.argv[1] == "broken")
    return pulumi.Output.from_input(True)


if __name__ == "__main__":
    _run()
    print(json.dumps(captured, default=str))
