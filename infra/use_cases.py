"""Use cases: one service account each, scoped to its own slice of the platform.

A use case's application runs as its account: it reads the prompt templates,
writes its interaction and feedback rows, and queries the index within its own
restrict value (`use_case` namespace, value = the use case's name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from llmops import contract


@dataclass(frozen=True)
class UseCaseArgs:
    """The use case and the resources its account is granted on."""

    project: str
    use_case: str
    description: str
    account_id: str
    prompts_bucket: pulumi.Input[str]
    dataset_id: pulumi.Input[str]
    interactions_table: pulumi.Input[str]
    feedback_table: pulumi.Input[str]
    iam_services: Sequence[pulumi.Resource]
    bigquery_services: Sequence[pulumi.Resource]


class UseCase(pulumi.ComponentResource):
    """A use case's service account and its grants."""

    account_email: pulumi.Output[str]
    restrict_namespace: str
    restrict_value: str

    def __init__(
        self, name: str, args: UseCaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(catalog.TYPE_USE_CASE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        iam = pulumi.ResourceOptions(parent=self, depends_on=list(args.iam_services))

        account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=args.project,
            account_id=args.account_id,
            display_name=f"llmops use case {args.use_case}",
            description=args.description or None,
            opts=iam,
        )

        # Limitation: the account reads every template in the prompts bucket,
        # not only its own, until the registry keeps one prefix per use case
        # that an IAM condition can name.
        gcp.storage.BucketIAMMember(
            f"{name}-reads-prompts",
            bucket=args.prompts_bucket,
            role=catalog.ROLE_OBJECT_VIEWER,
            member=account.member,
            opts=child,
        )
        for table_key, table in (
            ("interactions", args.interactions_table),
            ("feedback", args.feedback_table),
        ):
            gcp.bigquery.IamMember(
                f"{name}-writes-{table_key}",
                project=args.project,
                dataset_id=args.dataset_id,
                table_id=table,
                role=catalog.ROLE_BIGQUERY_DATA_EDITOR,
                member=account.member,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=list(args.bigquery_services)
                ),
            )
        # Vertex AI has no per-endpoint IAM: querying the index and calling the
        # embedding model take the project-level user role.
        gcp.projects.IAMMember(
            f"{name}-vertex-user",
            project=args.project,
            role=catalog.ROLE_AIPLATFORM_USER,
            member=account.member,
            opts=iam,
        )

        self.account_email = account.email
        self.restrict_namespace = contract.RESTRICT_USE_CASE
        self.restrict_value = args.use_case
        self.register_outputs(
            {
                "accountEmail": self.account_email,
                "restrictNamespace": self.restrict_namespace,
                "restrictValue": self.restrict_value,
            }
        )
