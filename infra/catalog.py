"""Regions, locations, roles, runtimes and API names the platform uses.

Every string Google Cloud defines and the components need lives here, so that a
change of region support or of a role is one edit, and the policy pack and the
tests read the same names.
"""

from __future__ import annotations

from typing import Final

# Component type tokens: `<package>:<module>:<type>`.
TYPE_APIS: Final = "llmops:platform:Apis"
TYPE_VECTOR_SEARCH: Final = "llmops:platform:VectorSearch"
TYPE_MONITORING: Final = "llmops:platform:Monitoring"
TYPE_INGESTION: Final = "llmops:platform:Ingestion"
TYPE_PROMPT_REGISTRY: Final = "llmops:platform:PromptRegistry"
TYPE_PIPELINE_TEMPLATES: Final = "llmops:platform:PipelineTemplates"
TYPE_USE_CASE: Final = "llmops:platform:UseCase"
TYPE_PROJECT_ROLES: Final = "llmops:platform:ProjectRoles"
TYPE_DATA_PROTECTION: Final = "llmops:platform:DataProtection"
TYPE_TUNING_SCHEDULE: Final = "llmops:platform:TuningSchedule"

# Regions where every service the platform needs is offered: Vector Search with
# streaming updates, Cloud Functions gen2, Eventarc and Artifact Registry (KFP).
REGIONS: Final = (
    "asia-northeast1",
    "asia-southeast1",
    "australia-southeast1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "northamerica-northeast1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-west1",
)

# Cloud Storage multi- and dual-regions and the regions they span. A storage
# trigger lives in the bucket's location, lowercased; a function in one of
# these regions can take events from a bucket in the location that spans it.
MULTI_REGIONS: Final[dict[str, tuple[str, ...]]] = {
    "US": tuple(r for r in REGIONS if r.startswith(("us-", "northamerica-"))),
    "EU": tuple(r for r in REGIONS if r.startswith("europe-")),
    "ASIA": tuple(r for r in REGIONS if r.startswith("asia-")),
    "NAM4": ("us-central1", "us-east1"),
    "EUR4": ("europe-north1", "europe-west4"),
    "ASIA1": ("asia-northeast1", "asia-northeast2"),
}

# Services the platform calls. Each resource depends on the ones it uses.
API_AIPLATFORM: Final = "aiplatform.googleapis.com"
API_ARTIFACT_REGISTRY: Final = "artifactregistry.googleapis.com"
API_BIGQUERY: Final = "bigquery.googleapis.com"
API_CLOUD_BUILD: Final = "cloudbuild.googleapis.com"
API_CLOUD_FUNCTIONS: Final = "cloudfunctions.googleapis.com"
API_COMPUTE: Final = "compute.googleapis.com"
API_EVENTARC: Final = "eventarc.googleapis.com"
API_IAM: Final = "iam.googleapis.com"
API_LOGGING: Final = "logging.googleapis.com"
API_PUBSUB: Final = "pubsub.googleapis.com"
API_RESOURCE_MANAGER: Final = "cloudresourcemanager.googleapis.com"
API_RUN: Final = "run.googleapis.com"
API_STORAGE: Final = "storage.googleapis.com"
APIS: Final = (
    API_AIPLATFORM,
    API_ARTIFACT_REGISTRY,
    API_BIGQUERY,
    API_CLOUD_BUILD,
    API_CLOUD_FUNCTIONS,
    API_COMPUTE,
    API_EVENTARC,
    API_IAM,
    API_LOGGING,
    API_PUBSUB,
    API_RESOURCE_MANAGER,
    API_RUN,
    API_STORAGE,
)
# Enabled only when the stack uses them: PII redaction, scheduled tuning.
API_DLP: Final = "dlp.googleapis.com"
API_CLOUD_SCHEDULER: Final = "cloudscheduler.googleapis.com"
# Services whose Google-managed agents the platform grants roles to; created
# explicitly because a fresh project has none until the service first acts.
SERVICE_IDENTITY_APIS: Final = (API_AIPLATFORM, API_EVENTARC, API_PUBSUB)

# Roles, by what they let the holder do. Primitive roles never appear.
ROLE_AIPLATFORM_USER: Final = "roles/aiplatform.user"
ROLE_ARTIFACT_READER: Final = "roles/artifactregistry.reader"
ROLE_ARTIFACT_WRITER: Final = "roles/artifactregistry.writer"
ROLE_BIGQUERY_DATA_EDITOR: Final = "roles/bigquery.dataEditor"
ROLE_BIGQUERY_DATA_VIEWER: Final = "roles/bigquery.dataViewer"
ROLE_BIGQUERY_JOB_USER: Final = "roles/bigquery.jobUser"
ROLE_DLP_USER: Final = "roles/dlp.user"
# DLP templates have no IAM of their own: reading them is a project role.
ROLE_DLP_INSPECT_TEMPLATES_READER: Final = "roles/dlp.inspectTemplatesReader"
ROLE_DLP_DEIDENTIFY_TEMPLATES_READER: Final = "roles/dlp.deidentifyTemplatesReader"
ROLE_EVENTARC_RECEIVER: Final = "roles/eventarc.eventReceiver"
ROLE_EVENTARC_AGENT: Final = "roles/eventarc.serviceAgent"
ROLE_LOG_WRITER: Final = "roles/logging.logWriter"
ROLE_PUBSUB_PUBLISHER: Final = "roles/pubsub.publisher"
ROLE_RUN_INVOKER: Final = "roles/run.invoker"
ROLE_RUN_BUILDER: Final = "roles/run.builder"
ROLE_SERVICE_ACCOUNT_USER: Final = "roles/iam.serviceAccountUser"
ROLE_OBJECT_VIEWER: Final = "roles/storage.objectViewer"
ROLE_OBJECT_USER: Final = "roles/storage.objectUser"
PRIMITIVE_ROLES: Final = ("roles/owner", "roles/editor", "roles/viewer")

# Principals that would make a resource public; never granted anything.
PUBLIC_PRINCIPALS: Final = ("allUsers", "allAuthenticatedUsers")
PRINCIPAL_KINDS: Final = ("user", "group", "serviceAccount", "domain", "principal")

# Cloud Functions gen2.
FUNCTION_RUNTIME: Final = "python311"
FUNCTION_MAX_EVENT_TIMEOUT_SECONDS: Final = 540
FUNCTION_MEMORY_SIZES: Final = ("512Mi", "1Gi", "2Gi", "4Gi", "8Gi")
FUNCTION_MAX_INSTANCES_LIMIT: Final = 1000
ENTRY_POINT_FINALIZED: Final = "on_object_finalized"
ENTRY_POINT_DELETED: Final = "on_object_deleted"
RETRY_POLICY: Final = "RETRY_POLICY_RETRY"
INGRESS_INTERNAL_ONLY: Final = "ALLOW_INTERNAL_ONLY"

# Vector Search.
INDEX_UPDATE_METHOD: Final = "STREAM_UPDATE"
INDEX_DISTANCE: Final = "DOT_PRODUCT_DISTANCE"
INDEX_FEATURE_NORM: Final = "UNIT_L2_NORM"
INDEX_SHARD_SIZES: Final = ("SHARD_SIZE_SMALL", "SHARD_SIZE_MEDIUM", "SHARD_SIZE_LARGE")
# Machine types each shard size can be served from.
INDEX_MACHINE_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "SHARD_SIZE_SMALL": ("e2-standard-2", "e2-standard-16", "e2-highmem-16"),
    "SHARD_SIZE_MEDIUM": ("e2-standard-16", "e2-highmem-16", "n2d-standard-32"),
    "SHARD_SIZE_LARGE": ("n2d-standard-32", "n1-highmem-16"),
}
TREE_AH_LEAF_NODE_EMBEDDING_COUNT: Final = 1000
TREE_AH_LEAF_NODES_TO_SEARCH_PERCENT: Final = 10
APPROXIMATE_NEIGHBORS_COUNT: Final = 150
# Index builds and deployments take tens of minutes to hours.
INDEX_TIMEOUTS: Final = {"create": "2h", "update": "2h", "delete": "1h"}
DEPLOYED_INDEX_TIMEOUTS: Final = {"create": "3h", "update": "3h", "delete": "1h"}

# Artifact Registry format that holds Kubeflow pipeline templates.
REPOSITORY_FORMAT_KFP: Final = "KFP"

# Cloud Scheduler: the continuous-feedback jobs call Vertex AI's REST API.
SCHEDULER_TIME_ZONE: Final = "Etc/UTC"
SCHEDULER_ATTEMPT_DEADLINE: Final = "60s"
OAUTH_SCOPE_CLOUD_PLATFORM: Final = "https://www.googleapis.com/auth/cloud-platform"
# The published tag a scheduled run takes (`llmops pipelines publish`).
TEMPLATE_TAG_LATEST: Final = "latest"

# BigQuery.
TIME_PARTITIONING_DAY: Final = "DAY"

# Labels every resource that takes labels carries.
LABEL_PLATFORM: Final = "platform"
LABEL_ENVIRONMENT: Final = "environment"
LABEL_STACK: Final = "stack"
LABEL_MANAGED_BY: Final = "managed-by"
LABEL_COMPONENT: Final = "component"
LABEL_USE_CASE: Final = "use-case"
# Platform resources serve every use case; the runtime's default is the same.
SHARED_USE_CASE: Final = "shared"
REQUIRED_LABELS: Final = (
    LABEL_PLATFORM,
    LABEL_ENVIRONMENT,
    LABEL_STACK,
    LABEL_MANAGED_BY,
    LABEL_COMPONENT,
    LABEL_USE_CASE,
)


def kfp_repository_url(region: str, project: str, repository: str) -> str:
    """The URL `kfp.registry.RegistryClient` takes for a KFP repository."""
    return f"https://{region}-kfp.pkg.dev/{project}/{repository}"


def pipeline_jobs_url(region: str, project: str) -> str:
    """Vertex AI's REST collection that creating a pipeline job posts to."""
    return (
        f"https://{region}-aiplatform.googleapis.com/v1/projects/{project}"
        f"/locations/{region}/pipelineJobs"
    )


def trigger_region(bucket_location: str) -> str:
    """The Eventarc location of a storage trigger on a bucket in this location."""
    return bucket_location.lower()


def location_spans(location: str, region: str) -> bool:
    """Whether a Cloud Storage location is, or spans, the given region."""
    upper = location.upper()
    if upper in MULTI_REGIONS:
        return region in MULTI_REGIONS[upper]
    return location.lower() == region


def principal_key(member: str) -> str:
    """A stable, resource-name-safe key for an IAM principal."""
    return "".join(ch if ch.isalnum() else "-" for ch in member.lower()).strip("-")
