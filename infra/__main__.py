"""The platform's Pulumi program: read the stack, declare each part, export.

This module only wires: it validates the configuration, then hands each
component what the others produced, then exports what use-case teams and the
CLI read (`pulumi stack output --json`). Every resource lives in a component.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Pulumi runs this file from infra/; the components import as `infra.*`.
_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import pulumi

from infra import catalog, source_archive
from infra.apis import Apis, ApisArgs
from infra.config import StackConfig, from_pulumi
from infra.data_protection import DataProtection, DataProtectionArgs
from infra.ingestion import Ingestion, IngestionArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.pipeline_templates import (
    PipelineTemplates,
    PipelineTemplatesArgs,
)
from infra.project_roles import ProjectRoles, ProjectRolesArgs
from infra.prompt_registry import PromptRegistry, PromptRegistryArgs
from infra.tuning_schedule import TuningSchedule, TuningScheduleArgs
from infra.use_cases import UseCase, UseCaseArgs
from infra.vector_search import VectorSearch, VectorSearchArgs
from llmops import contract

# The function's source and the package it imports, as this checkout has them.
FUNCTION_DIR = _REPO / "functions" / "ingest"
PACKAGE_DIR = _REPO / "llmops"
# Monitoring tables the pipelines write: evaluation results.
PIPELINE_WRITTEN_TABLES = (contract.TABLE_EVALUATIONS,)


@dataclass(frozen=True)
class Platform:
    """The declared components, for the exports and for tests."""

    config: StackConfig
    apis: Apis
    monitoring: Monitoring
    vector_search: VectorSearch
    prompt_registry: PromptRegistry
    ingestion: Ingestion
    pipeline_templates: PipelineTemplates
    use_cases: dict[str, UseCase]
    # Declared only when the stack file asks for them.
    project_roles: ProjectRoles | None = None
    data_protection: DataProtection | None = None
    tuning_schedule: TuningSchedule | None = None


def enabled_apis(config: StackConfig) -> tuple[str, ...]:
    """The services the stack calls: the platform's, and those its options need."""
    optional = [
        api
        for api, wanted in (
            (catalog.API_DLP, config.redacts),
            (catalog.API_CLOUD_SCHEDULER, bool(config.tuning_schedule)),
        )
        if wanted
    ]
    return (*catalog.APIS, *optional)


def declare(
    config: StackConfig,
    function_dir: Path = FUNCTION_DIR,
    package_dir: Path = PACKAGE_DIR,
) -> Platform:
    """Declare every component of the platform for a validated configuration."""
    # The source is checked with the configuration, before any resource.
    source = source_archive.build(function_dir, package_dir)

    apis = Apis("apis", ApisArgs(project=config.project, apis=enabled_apis(config)))
    iam_services = apis.uses(catalog.API_IAM, catalog.API_RESOURCE_MANAGER)

    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            project=config.project,
            dataset_id=config.dataset_id,
            location=config.dataset_location,
            retention_days=config.retention_days,
            content_retention_days=config.content_retention_days,
            labels=config.labels("monitoring"),
            protect=config.protect,
            services=apis.uses(catalog.API_BIGQUERY),
        ),
    )

    vector_search = VectorSearch(
        "vector-search",
        VectorSearchArgs(
            project=config.project,
            region=config.region,
            dimensions=config.embedding_dimensions,
            shard_size=config.index_shard_size,
            machine_type=config.index_machine_type,
            min_replicas=config.index_min_replicas,
            max_replicas=config.index_max_replicas,
            public_endpoint=config.index_endpoint_public,
            deployed_index_id=config.deployed_index_id,
            contents_bucket=config.bucket_name("index"),
            labels=config.labels("vector-search"),
            protect=config.protect,
            vertex_agent_member=apis.agent_members[catalog.API_AIPLATFORM],
            services=apis.uses(
                catalog.API_AIPLATFORM, catalog.API_STORAGE, catalog.API_COMPUTE
            ),
        ),
    )

    # Redaction in the cloud goes through DLP templates the functions name.
    data_protection = (
        DataProtection(
            "data-protection",
            DataProtectionArgs(
                project=config.project,
                region=config.region,
                template_prefix=f"{config.name_prefix}-ingest",
                services=apis.uses(catalog.API_DLP),
            ),
        )
        if config.redacts
        else None
    )

    prompt_registry = PromptRegistry(
        "prompt-registry",
        PromptRegistryArgs(
            project=config.project,
            region=config.region,
            bucket=config.bucket_name("prompts"),
            soft_delete_days=config.prompt_soft_delete_days,
            writers=config.prompt_writers,
            readers=config.prompt_readers,
            dataset_id=monitoring.dataset_id,
            events_table=monitoring.table_ids[contract.TABLE_PROMPT_REGISTRY_EVENTS],
            labels=config.labels("prompt-registry"),
            protect=config.protect,
            services=apis.uses(catalog.API_STORAGE),
            bigquery_services=apis.uses(catalog.API_BIGQUERY),
        ),
    )

    ingestion = Ingestion(
        "ingestion",
        IngestionArgs(
            project=config.project,
            region=config.region,
            function_prefix=f"{config.name_prefix}-ingest",
            docs_bucket=config.bucket_name("docs"),
            docs_location=config.docs_bucket_location,
            chunks_bucket=config.bucket_name("chunks"),
            sources_bucket=config.bucket_name("sources"),
            trigger_region=config.trigger_region,
            uploaders=config.docs_uploaders,
            runtime_account_id=config.account_id("ingest"),
            trigger_account_id=config.account_id("ingest-trigger"),
            build_account_id=config.account_id("ingest-build"),
            source=source,
            max_instances=config.function_max_instances,
            timeout_seconds=config.function_timeout_seconds,
            memory=config.function_memory,
            dataset_id=monitoring.dataset_id,
            ingestion_events_table=monitoring.table_ids[
                contract.TABLE_INGESTION_EVENTS
            ],
            vector_index=vector_search.index_name,
            index_endpoint=vector_search.index_endpoint_name,
            deployed_index_id=vector_search.deployed_index_id,
            embedding_model=config.embedding_model.name,
            embedding_dimensions=config.embedding_dimensions,
            default_use_case=config.default_use_case,
            # The effective value: a confidential or restricted classification
            # turns redaction on whatever llmops:piiRedaction says.
            pii_redaction=config.redacts,
            data_classification=config.data_classification,
            storage_agent_member=apis.storage_agent_member,
            labels=config.labels("ingestion"),
            protect=config.protect,
            storage_services=apis.uses(catalog.API_STORAGE),
            function_services=apis.uses(
                catalog.API_CLOUD_FUNCTIONS,
                catalog.API_RUN,
                catalog.API_CLOUD_BUILD,
                catalog.API_ARTIFACT_REGISTRY,
                catalog.API_EVENTARC,
                catalog.API_PUBSUB,
                catalog.API_AIPLATFORM,
                catalog.API_BIGQUERY,
                catalog.API_LOGGING,
            ),
            iam_services=iam_services,
            bigquery_services=apis.uses(catalog.API_BIGQUERY),
            # A private endpoint's PSC address is set by the network team.
            match_endpoint=(
                vector_search.public_endpoint_domain
                if config.index_endpoint_public
                else None
            ),
            dlp_inspect_template=(
                data_protection.inspect_template_name if data_protection else None
            ),
            dlp_deidentify_template=(
                data_protection.deidentify_template_name if data_protection else None
            ),
        ),
    )

    pipeline_templates = PipelineTemplates(
        "pipeline-templates",
        PipelineTemplatesArgs(
            project=config.project,
            region=config.region,
            root_bucket=config.bucket_name("pipelines"),
            repository_id=f"{config.name_prefix}-templates",
            account_id=config.account_id("pipelines"),
            artifact_days=config.pipeline_artifact_days,
            submitters=config.pipeline_submitters,
            dataset_id=monitoring.dataset_id,
            written_tables={
                table: monitoring.table_ids[table]
                for table in PIPELINE_WRITTEN_TABLES
                if table in monitoring.table_ids
            },
            chunks_bucket=ingestion.chunks_bucket,
            labels=config.labels("pipeline-templates"),
            protect=config.protect,
            storage_services=apis.uses(catalog.API_STORAGE),
            registry_services=apis.uses(catalog.API_ARTIFACT_REGISTRY),
            iam_services=iam_services,
            bigquery_services=apis.uses(catalog.API_BIGQUERY),
        ),
    )

    use_cases = {
        use_case.name: UseCase(
            f"use-case-{use_case.name}",
            UseCaseArgs(
                project=config.project,
                use_case=use_case.name,
                description=use_case.description,
                account_id=config.account_id(f"uc-{use_case.name}"),
                prompts_bucket=prompt_registry.bucket_name,
                dataset_id=monitoring.dataset_id,
                interactions_table=monitoring.table_ids[contract.TABLE_INTERACTIONS],
                feedback_table=monitoring.table_ids[contract.TABLE_FEEDBACK],
                iam_services=iam_services,
                bigquery_services=apis.uses(catalog.API_BIGQUERY),
            ),
        )
        for use_case in config.use_cases
    }

    tuning_schedule = (
        TuningSchedule(
            "tuning-schedule",
            TuningScheduleArgs(
                project=config.project,
                region=config.region,
                job_prefix=config.name_prefix,
                account_id=config.account_id("tuning"),
                schedule=config.tuning_schedule,
                min_new_examples=config.min_new_examples,
                use_cases=tuple(use_case.name for use_case in config.use_cases),
                pipeline_account_name=pipeline_templates.account_name,
                pipeline_account_email=pipeline_templates.account_email,
                repository=pipeline_templates.repository_name,
                repository_url=pipeline_templates.repository_url,
                pipeline_root=pipeline_templates.pipeline_root,
                dataset_id=monitoring.dataset_id,
                environment=config.environment,
                iam_services=iam_services,
                scheduler_services=apis.uses(
                    catalog.API_CLOUD_SCHEDULER, catalog.API_AIPLATFORM
                ),
            ),
        )
        if config.tuning_schedule
        else None
    )

    project_roles = (
        ProjectRoles(
            "project-roles",
            ProjectRolesArgs(
                project=config.project,
                grants=config.project_roles,
                iam_services=iam_services,
            ),
        )
        if config.project_roles
        else None
    )

    return Platform(
        config=config,
        apis=apis,
        monitoring=monitoring,
        vector_search=vector_search,
        prompt_registry=prompt_registry,
        ingestion=ingestion,
        pipeline_templates=pipeline_templates,
        use_cases=use_cases,
        project_roles=project_roles,
        data_protection=data_protection,
        tuning_schedule=tuning_schedule,
    )


def outputs(platform: Platform) -> dict[str, Any]:
    """The stack outputs: every `OUTPUT_*` name of the contract, and more."""
    config = platform.config
    return {
        contract.OUTPUT_PROJECT: config.project,
        contract.OUTPUT_REGION: config.region,
        contract.OUTPUT_DOCS_BUCKET: platform.ingestion.docs_bucket,
        contract.OUTPUT_CHUNKS_BUCKET: platform.ingestion.chunks_bucket,
        contract.OUTPUT_PROMPTS_BUCKET: platform.prompt_registry.bucket_name,
        contract.OUTPUT_PIPELINE_ROOT: platform.pipeline_templates.pipeline_root,
        contract.OUTPUT_DATASET: platform.monitoring.dataset_id,
        contract.OUTPUT_VECTOR_INDEX: platform.vector_search.index_name,
        contract.OUTPUT_INDEX_ENDPOINT: platform.vector_search.index_endpoint_name,
        contract.OUTPUT_DEPLOYED_INDEX_ID: platform.vector_search.deployed_index_id,
        contract.OUTPUT_EMBEDDING_MODEL: config.embedding_model.name,
        contract.OUTPUT_EMBEDDING_DIMENSIONS: config.embedding_dimensions,
        "environment": config.environment,
        "bigqueryLocation": config.dataset_location,
        "monitoringTables": platform.monitoring.table_ids,
        "monitoringViews": platform.monitoring.view_ids,
        "indexEndpointPublicDomain": platform.vector_search.public_endpoint_domain,
        "ingestionFunctions": platform.ingestion.function_names,
        "ingestionServiceAccount": platform.ingestion.runtime_account_email,
        contract.OUTPUT_PIPELINE_SERVICE_ACCOUNT: (
            platform.pipeline_templates.account_email
        ),
        contract.OUTPUT_TEMPLATE_REPOSITORY_URL: (
            platform.pipeline_templates.repository_url
        ),
        "tuningJobs": (
            platform.tuning_schedule.job_names if platform.tuning_schedule else {}
        ),
        contract.OUTPUT_DEFAULT_USE_CASE: config.default_use_case,
        "restrictNamespace": contract.RESTRICT_USE_CASE,
        contract.OUTPUT_USE_CASES: {
            name: {
                "serviceAccount": use_case.account_email,
                "restrictNamespace": use_case.restrict_namespace,
                "restrictValue": use_case.restrict_value,
            }
            for name, use_case in platform.use_cases.items()
        },
    }


def main() -> None:
    """Run as the stack's program: validate, declare, export."""
    config = from_pulumi()
    platform = declare(config)
    for name, value in outputs(platform).items():
        pulumi.export(name, value)


if __name__ == "__main__":
    main()
