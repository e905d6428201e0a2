"""The prompt registry: a versioned bucket of prompt templates.

Each template version is an object generation, so the bucket keeps every
version and a soft-delete window restores what was removed by mistake. Who
may publish and who may read is decided by IAM: writers may also record the
registry's events in the monitoring table of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from infra.storage import private_bucket


@dataclass(frozen=True)
class PromptRegistryArgs:
    """The bucket and the principals allowed to write and read it."""

    project: str
    region: str
    bucket: str
    soft_delete_days: int
    writers: tuple[str, ...]
    readers: tuple[str, ...]
    dataset_id: pulumi.Input[str]
    events_table: pulumi.Input[str]
    labels: Mapping[str, str]
    protect: bool
    services: Sequence[pulumi.Resource]
    bigquery_services: Sequence[pulumi.Resource]


class PromptRegistry(pulumi.ComponentResource):
    """The versioned prompts bucket and its writer and reader grants."""

    bucket_name: pulumi.Output[str]
    bucket: gcp.storage.Bucket

    def __init__(
        self,
        name: str,
        args: PromptRegistryArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_PROMPT_REGISTRY, name, None, opts)

        self.bucket = private_bucket(
            f"{name}-prompts",
            parent=self,
            name=args.bucket,
            project=args.project,
            location=args.region,
            labels=args.labels,
            protect=args.protect,
            depends_on=args.services,
            versioned=True,
            soft_delete_days=args.soft_delete_days,
        )

        for member in args.writers:
            key = catalog.principal_key(member)
            gcp.storage.BucketIAMMember(
                f"{name}-writer-{key}",
                bucket=self.bucket.name,
                role=catalog.ROLE_OBJECT_USER,
                member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
            gcp.bigquery.IamMember(
                f"{name}-writer-events-{key}",
                project=args.project,
                dataset_id=args.dataset_id,
                table_id=args.events_table,
                role=catalog.ROLE_BIGQUERY_DATA_EDITOR,
                member=member,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=list(args.bigquery_services)
                ),
            )
        for member in args.readers:
            gcp.storage.BucketIAMMember(
                f"{name}-reader-{catalog.principal_key(member)}",
                bucket=self.bucket.name,
                role=catalog.ROLE_OBJECT_VIEWER,
                member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.bucket_name = self.bucket.name
        self.register_outputs({"bucketName": self.bucket_name})
