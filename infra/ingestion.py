"""Ingestion: the docs bucket and the two gen2 functions that index it.

An upload to the docs bucket (finalize) or a removal (delete) reaches its
function through an Eventarc trigger in the bucket's location. The functions
write chunk text and manifests to a second bucket, so nothing they write can
trigger them again, and upsert vectors into the index. Their environment is
exactly the names in `llmops.contract`, wired from the other components.

Three identities take part, each with only what it needs: the runtime account
(read docs, write chunks, write ingestion events, call Vertex AI), the trigger
account (receive events, invoke the functions) and the build account (build
the source into an image). The Cloud Storage agent publishes the events.
When the stack redacts with Cloud DLP, the runtime account may also call DLP
and read the two templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from infra.source_archive import SourceArchive
from infra.storage import private_bucket
from llmops import contract

_fn = gcp.cloudfunctionsv2


@dataclass(frozen=True)
class FunctionSpec:
    """One of the two functions: the event it takes and its entry point."""

    suffix: str
    event_type: str
    entry_point: str


FUNCTIONS = (
    FunctionSpec("finalized", contract.EVENT_FINALIZED, catalog.ENTRY_POINT_FINALIZED),
    FunctionSpec("deleted", contract.EVENT_DELETED, catalog.ENTRY_POINT_DELETED),
)


@dataclass(frozen=True)
class IngestionArgs:
    """Buckets, identities, limits and what the functions must be told."""

    project: str
    region: str
    function_prefix: str
    docs_bucket: str
    docs_location: str
    chunks_bucket: str
    sources_bucket: str
    trigger_region: str
    # Principals who add, replace and remove documents in the docs bucket.
    uploaders: tuple[str, ...]
    runtime_account_id: str
    trigger_account_id: str
    build_account_id: str
    source: SourceArchive
    max_instances: int
    timeout_seconds: int
    memory: str
    # Values of the functions' environment that other components produce.
    dataset_id: pulumi.Input[str]
    ingestion_events_table: pulumi.Input[str]
    vector_index: pulumi.Input[str]
    index_endpoint: pulumi.Input[str]
    deployed_index_id: pulumi.Input[str]
    embedding_model: str
    embedding_dimensions: int
    default_use_case: str
    pii_redaction: bool
    data_classification: str
    storage_agent_member: pulumi.Input[str]
    labels: Mapping[str, str]
    protect: bool
    storage_services: Sequence[pulumi.Resource]
    function_services: Sequence[pulumi.Resource]
    # IAM and Resource Manager: service accounts and project-level grants.
    iam_services: Sequence[pulumi.Resource]
    bigquery_services: Sequence[pulumi.Resource]
    # Where queries go: a public endpoint's domain. None for a private
    # endpoint, whose PSC address the network team sets (docs/platform.md).
    match_endpoint: pulumi.Input[str] | None = None
    # Cloud DLP template resource names, when the stack redacts with DLP.
    dlp_inspect_template: pulumi.Input[str] | None = None
    dlp_deidentify_template: pulumi.Input[str] | None = None

    @property
    def redacts_with_dlp(self) -> bool:
        """Whether the functions are given DLP templates to redact with."""
        return (
            self.dlp_inspect_template is not None
            and self.dlp_deidentify_template is not None
        )


def function_environment(
    args: IngestionArgs,
    docs_bucket: pulumi.Input[str],
    chunks_bucket: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """The environment `llmops.settings.Settings.from_env` reads in the cloud."""
    environment: dict[str, pulumi.Input[str]] = {
        contract.ENV_PROJECT: args.project,
        contract.ENV_LOCATION: args.region,
        contract.ENV_DOCS_BUCKET: docs_bucket,
        contract.ENV_CHUNKS_BUCKET: chunks_bucket,
        contract.ENV_BIGQUERY_DATASET: args.dataset_id,
        contract.ENV_DEFAULT_USE_CASE: args.default_use_case,
        contract.ENV_EMBEDDING_BACKEND: "vertex",
        contract.ENV_EMBEDDING_MODEL: args.embedding_model,
        contract.ENV_EMBEDDING_DIMENSIONS: str(args.embedding_dimensions),
        contract.ENV_VECTOR_BACKEND: "vertex",
        contract.ENV_VECTOR_INDEX: args.vector_index,
        contract.ENV_INDEX_ENDPOINT: args.index_endpoint,
        contract.ENV_DEPLOYED_INDEX_ID: args.deployed_index_id,
        contract.ENV_PII_REDACTION: "true" if args.pii_redaction else "false",
        contract.ENV_DATA_CLASSIFICATION: args.data_classification,
    }
    if args.match_endpoint is not None:
        environment[contract.ENV_MATCH_ENDPOINT] = args.match_endpoint
    if args.dlp_inspect_template is not None and args.dlp_deidentify_template:
        environment.update(
            {
                contract.ENV_DLP_INSPECT_TEMPLATE: args.dlp_inspect_template,
                contract.ENV_DLP_DEIDENTIFY_TEMPLATE: args.dlp_deidentify_template,
            }
        )
    return environment


class Ingestion(pulumi.ComponentResource):
    """The docs and chunks buckets, the source archive and the two functions."""

    docs_bucket: pulumi.Output[str]
    chunks_bucket: pulumi.Output[str]
    source_object: pulumi.Output[str]
    function_names: dict[str, pulumi.Output[str]]
    runtime_account_email: pulumi.Output[str]
    trigger_account_email: pulumi.Output[str]
    functions: dict[str, gcp.cloudfunctionsv2.Function]
    bindings: dict[str, pulumi.Resource]

    def __init__(
        self,
        name: str,
        args: IngestionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_INGESTION, name, None, opts)
        self._prefix = name
        child = pulumi.ResourceOptions(parent=self)
        storage_services = list(args.storage_services)

        docs = private_bucket(
            f"{name}-docs",
            parent=self,
            name=args.docs_bucket,
            project=args.project,
            location=args.docs_location,
            labels=args.labels,
            protect=args.protect,
            depends_on=storage_services,
            soft_delete_days=7,
        )
        # Chunk text can be rebuilt from the documents, so no soft delete.
        chunks = private_bucket(
            f"{name}-chunks",
            parent=self,
            name=args.chunks_bucket,
            project=args.project,
            location=args.region,
            labels=args.labels,
            protect=args.protect,
            depends_on=storage_services,
        )
        sources = private_bucket(
            f"{name}-sources",
            parent=self,
            name=args.sources_bucket,
            project=args.project,
            location=args.region,
            labels=args.labels,
            protect=args.protect,
            depends_on=storage_services,
        )
        source_object = gcp.storage.BucketObject(
            f"{name}-source",
            bucket=sources.name,
            name=args.source.object_name,
            source=args.source.asset(),
            opts=child,
        )

        runtime = self._account(args, "runtime", args.runtime_account_id)
        trigger = self._account(args, "trigger", args.trigger_account_id)
        build = self._account(args, "build", args.build_account_id)
        self.bindings = {}

        # Events: the storage agent publishes, the trigger account receives and
        # invokes. The invoker grant is project-wide because each function's
        # Cloud Run service only exists once the function does, and the trigger
        # must be allowed to invoke it from the first event; the trigger
        # account is used by these triggers alone.
        self._project_role(
            args,
            "storage-agent-publisher",
            catalog.ROLE_PUBSUB_PUBLISHER,
            args.storage_agent_member,
        )
        self._project_role(
            args,
            "trigger-event-receiver",
            catalog.ROLE_EVENTARC_RECEIVER,
            trigger.member,
        )
        self._project_role(
            args, "trigger-invoker", catalog.ROLE_RUN_INVOKER, trigger.member
        )

        # Runtime: read documents, write chunks and ingestion events, call Vertex.
        self._bucket_role(
            "runtime-reads-docs", docs, catalog.ROLE_OBJECT_VIEWER, runtime.member
        )
        self._bucket_role(
            "runtime-writes-chunks",
            chunks,
            catalog.ROLE_OBJECT_USER,
            runtime.member,
        )
        self.bindings["runtime-writes-ingestion-events"] = gcp.bigquery.IamMember(
            f"{name}-runtime-writes-ingestion-events",
            project=args.project,
            dataset_id=args.dataset_id,
            table_id=args.ingestion_events_table,
            role=catalog.ROLE_BIGQUERY_DATA_EDITOR,
            member=runtime.member,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=list(args.bigquery_services)
            ),
        )
        self._project_role(
            args, "runtime-vertex-user", catalog.ROLE_AIPLATFORM_USER, runtime.member
        )
        self._project_role(
            args, "runtime-log-writer", catalog.ROLE_LOG_WRITER, runtime.member
        )
        # Redaction with DLP: call it, and read the templates (DLP templates
        # have no IAM of their own, so reading them is a project role).
        if args.redacts_with_dlp:
            for key, role in (
                ("runtime-dlp-user", catalog.ROLE_DLP_USER),
                (
                    "runtime-reads-inspect-templates",
                    catalog.ROLE_DLP_INSPECT_TEMPLATES_READER,
                ),
                (
                    "runtime-reads-deidentify-templates",
                    catalog.ROLE_DLP_DEIDENTIFY_TEMPLATES_READER,
                ),
            ):
                self._project_role(args, key, role, runtime.member)

        # Uploaders manage documents; the functions index what they leave there.
        for member in args.uploaders:
            gcp.storage.BucketIAMMember(
                f"{name}-uploader-{catalog.principal_key(member)}",
                bucket=docs.name,
                role=catalog.ROLE_OBJECT_USER,
                member=member,
                opts=child,
            )

        # Build: read the uploaded source and build it into an image.
        self._bucket_role(
            "build-reads-sources",
            sources,
            catalog.ROLE_OBJECT_VIEWER,
            build.member,
        )
        # Cloud Run Builder is Google's role for a function's own build account:
        # read the staged source, push the image, write the build's logs.
        self._project_role(args, "build-runner", catalog.ROLE_RUN_BUILDER, build.member)

        environment = function_environment(args, docs.name, chunks.name)
        self.functions = {}
        for spec in FUNCTIONS:
            self.functions[spec.suffix] = _fn.Function(
                f"{name}-{spec.suffix}",
                project=args.project,
                location=args.region,
                name=f"{args.function_prefix}-{spec.suffix}",
                description=f"Ingests documents on {spec.event_type}.",
                build_config=_fn.FunctionBuildConfigArgs(
                    runtime=catalog.FUNCTION_RUNTIME,
                    entry_point=spec.entry_point,
                    service_account=build.id,
                    source=_fn.FunctionBuildConfigSourceArgs(
                        storage_source=_fn.FunctionBuildConfigSourceStorageSourceArgs(
                            bucket=sources.name, object=source_object.output_name
                        )
                    ),
                ),
                service_config=_fn.FunctionServiceConfigArgs(
                    min_instance_count=0,
                    max_instance_count=args.max_instances,
                    max_instance_request_concurrency=1,
                    available_memory=args.memory,
                    timeout_seconds=args.timeout_seconds,
                    environment_variables=environment,
                    ingress_settings=catalog.INGRESS_INTERNAL_ONLY,
                    all_traffic_on_latest_revision=True,
                    service_account_email=runtime.email,
                ),
                event_trigger=_fn.FunctionEventTriggerArgs(
                    trigger_region=args.trigger_region,
                    event_type=spec.event_type,
                    event_filters=[
                        _fn.FunctionEventTriggerEventFilterArgs(
                            attribute="bucket", value=docs.name
                        )
                    ],
                    retry_policy=catalog.RETRY_POLICY,
                    service_account_email=trigger.email,
                ),
                labels=dict(args.labels),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[*args.function_services, *self.bindings.values()],
                ),
            )

        self.docs_bucket = docs.name
        self.chunks_bucket = chunks.name
        self.source_object = source_object.output_name
        self.function_names = {k: f.name for k, f in self.functions.items()}
        self.runtime_account_email = runtime.email
        self.trigger_account_email = trigger.email
        self.register_outputs(
            {
                "docsBucket": self.docs_bucket,
                "chunksBucket": self.chunks_bucket,
                "sourceObject": self.source_object,
                "functionNames": self.function_names,
                "runtimeAccountEmail": self.runtime_account_email,
                "triggerAccountEmail": self.trigger_account_email,
            }
        )

    def _account(
        self, args: IngestionArgs, purpose: str, account_id: str
    ) -> gcp.serviceaccount.Account:
        return gcp.serviceaccount.Account(
            f"{self._prefix}-{purpose}-account",
            project=args.project,
            account_id=account_id,
            display_name=f"llmops ingestion {purpose}",
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=list(args.iam_services)
            ),
        )

    def _project_role(
        self, args: IngestionArgs, key: str, role: str, member: pulumi.Input[str]
    ) -> None:
        self.bindings[key] = gcp.projects.IAMMember(
            f"{self._prefix}-{key}",
            project=args.project,
            role=role,
            member=member,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=list(args.iam_services)
            ),
        )

    def _bucket_role(
        self,
        key: str,
        bucket: gcp.storage.Bucket,
        role: str,
        member: pulumi.Input[str],
    ) -> None:
        self.bindings[key] = gcp.storage.BucketIAMMember(
            f"{self._prefix}-{key}",
            bucket=bucket.name,
            role=role,
            member=member,
            opts=pulumi.ResourceOptions(parent=self),
        )
