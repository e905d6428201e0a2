"""Pipeline templates: where Vertex AI pipelines keep artifacts and templates.

The pipeline root bucket holds run artifacts (expired after a while), the
Artifact Registry repository holds compiled KFP templates, and the pipeline
service account runs them with what the platform's pipelines need: read the
monitoring tables and chunks, write artifacts, call Vertex AI. Submitters may
act as that account and nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from infra.storage import private_bucket


@dataclass(frozen=True)
class PipelineTemplatesArgs:
    """Names, retention and who may submit pipelines."""

    project: str
    region: str
    root_bucket: str
    repository_id: str
    account_id: str
    artifact_days: int
    submitters: tuple[str, ...]
    dataset_id: pulumi.Input[str]
    # Monitoring tables the pipelines write rows to (evaluation results).
    written_tables: Mapping[str, pulumi.Input[str]]
    chunks_bucket: pulumi.Input[str]
    labels: Mapping[str, str]
    protect: bool
    storage_services: Sequence[pulumi.Resource]
    registry_services: Sequence[pulumi.Resource]
    iam_services: Sequence[pulumi.Resource]
    bigquery_services: Sequence[pulumi.Resource]


class PipelineTemplates(pulumi.ComponentResource):
    """The pipeline root, the KFP repository and the pipeline account."""

    pipeline_root: pulumi.Output[str]
    repository_url: pulumi.Output[str]
    repository_name: pulumi.Output[str]
    account_email: pulumi.Output[str]
    account_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: PipelineTemplatesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_PIPELINE_TEMPLATES, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        iam = pulumi.ResourceOptions(parent=self, depends_on=list(args.iam_services))

        root = private_bucket(
            f"{name}-root",
            parent=self,
            name=args.root_bucket,
            project=args.project,
            location=args.region,
            labels=args.labels,
            protect=args.protect,
            depends_on=args.storage_services,
            delete_after_days=args.artifact_days,
        )
        repository = gcp.artifactregistry.Repository(
            f"{name}-repository",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format=catalog.REPOSITORY_FORMAT_KFP,
            description="Compiled Kubeflow pipeline templates of the platform.",
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=list(args.registry_services),
            ),
        )
        account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=args.project,
            account_id=args.account_id,
            display_name="llmops pipelines",
            opts=iam,
        )

        # What the pipelines do: export rows, split, compute metrics, tune.
        for key, role in (
            ("vertex-user", catalog.ROLE_AIPLATFORM_USER),
            ("bigquery-job-user", catalog.ROLE_BIGQUERY_JOB_USER),
            ("log-writer", catalog.ROLE_LOG_WRITER),
        ):
            gcp.projects.IAMMember(
                f"{name}-{key}",
                project=args.project,
                role=role,
                member=account.member,
                opts=iam,
            )
        gcp.bigquery.DatasetIamMember(
            f"{name}-reads-monitoring",
            project=args.project,
            dataset_id=args.dataset_id,
            role=catalog.ROLE_BIGQUERY_DATA_VIEWER,
            member=account.member,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=list(args.bigquery_services)
            ),
        )
        for key, table in sorted(args.written_tables.items()):
            gcp.bigquery.IamMember(
                f"{name}-writes-{key.replace('_', '-')}",
                project=args.project,
                dataset_id=args.dataset_id,
                table_id=table,
                role=catalog.ROLE_BIGQUERY_DATA_EDITOR,
                member=account.member,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=list(args.bigquery_services)
                ),
            )
        gcp.storage.BucketIAMMember(
            f"{name}-writes-root",
            bucket=root.name,
            role=catalog.ROLE_OBJECT_USER,
            member=account.member,
            opts=child,
        )
        gcp.storage.BucketIAMMember(
            f"{name}-reads-chunks",
            bucket=args.chunks_bucket,
            role=catalog.ROLE_OBJECT_VIEWER,
            member=account.member,
            opts=child,
        )
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-reads-templates",
            project=args.project,
            location=args.region,
            repository=repository.name,
            role=catalog.ROLE_ARTIFACT_READER,
            member=account.member,
            opts=child,
        )

        # Submitters run pipelines as the account and publish templates.
        for member in args.submitters:
            key = catalog.principal_key(member)
            gcp.serviceaccount.IAMMember(
                f"{name}-submitter-{key}",
                service_account_id=account.name,
                role=catalog.ROLE_SERVICE_ACCOUNT_USER,
                member=member,
                opts=child,
            )
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-publisher-{key}",
                project=args.project,
                location=args.region,
                repository=repository.name,
                role=catalog.ROLE_ARTIFACT_WRITER,
                member=member,
                opts=child,
            )

        self.pipeline_root = pulumi.Output.concat("gs://", root.name, "/runs")
        self.repository_url = repository.repository_id.apply(
            lambda repo: catalog.kfp_repository_url(args.region, args.project, repo)
        )
        self.repository_name = repository.name
        self.account_email = account.email
        self.account_name = account.name
        self.register_outputs(
            {
                "pipelineRoot": self.pipeline_root,
                "repositoryUrl": self.repository_url,
                "accountEmail": self.account_email,
            }
        )
