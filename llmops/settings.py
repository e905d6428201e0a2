"""The runtime's settings, read once from the environment at the edge.

Nothing reads the environment at import time: entrypoints call
``Settings.from_env()`` when they first handle work, and pass the result on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from llmops import contract as c
from llmops.errors import ConfigError

# Chunking bounds, in the embedder's tokens.
MIN_CHUNK_TOKENS = 32
MAX_CHUNK_TOKENS = 8192
DEFAULT_MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def _int(env: Mapping[str, str], key: str, default: int | None) -> int | None:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, got {raw!r}") from None


def _positive(env: Mapping[str, str], key: str, default: int) -> int:
    value = _int(env, key, default)
    assert value is not None
    if value <= 0:
        raise ConfigError(f"{key} must be a positive number of bytes, got {value}")
    return value


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def _required(env: Mapping[str, str], key: str, why: str) -> str:
    value = env.get(key, "").strip()
    if not value:
        raise ConfigError(f"{key} is not set; {why}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the ingestion path needs to choose and wire its backends."""

    docs_bucket: str
    chunks_bucket: str
    dataset: str
    embedding_backend: str
    embedding_model: c.EmbeddingModel
    embedding_dimensions: int
    vector_backend: str
    project: str | None = None
    location: str | None = None
    default_use_case: str = "shared"
    vector_index: str | None = None
    index_endpoint: str | None = None
    deployed_index_id: str | None = None
    match_endpoint: str | None = None
    milvus_uri: str | None = None
    milvus_collection: str = "llmops_chunks"
    bigquery_endpoint: str | None = None
    vertex_endpoint: str | None = None
    chunk_tokens: int | None = None
    chunk_overlap: int | None = None
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    log_content: bool = False
    pii_redaction: bool = False
    data_classification: str = "internal"
    pii_policy: str = ""
    pii_hash_key: str | None = None
    pii_phone_region: str = "US"
    dlp_inspect_template: str | None = None
    dlp_deidentify_template: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; raise ConfigError naming the key."""
        env = os.environ if env is None else env

        embedding_backend = env.get(c.ENV_EMBEDDING_BACKEND, "vertex")
        if embedding_backend not in c.EMBEDDING_BACKENDS:
            raise ConfigError(
                f"{c.ENV_EMBEDDING_BACKEND} must be one of "
                f"{', '.join(c.EMBEDDING_BACKENDS)}, got {embedding_backend!r}"
            )
        default_model = (
            "text-embedding-005"
            if embedding_backend == "vertex"
            else ("all-MiniLM-L6-v2")
        )
        model = c.embedding_model(env.get(c.ENV_EMBEDDING_MODEL, default_model))
        if model.backend != embedding_backend:
            raise ConfigError(
                f"{c.ENV_EMBEDDING_MODEL}={model.name!r} is served by the "
                f"{model.backend!r} backend, but {c.ENV_EMBEDDING_BACKEND} is "
                f"{embedding_backend!r}; set one to match the other"
            )
        dimensions = _int(env, c.ENV_EMBEDDING_DIMENSIONS, model.dimensions)
        assert dimensions is not None
        if dimensions != model.dimensions and not (
            model.reducible and 1 <= dimensions < model.dimensions
        ):
            raise ConfigError(
                f"{c.ENV_EMBEDDING_DIMENSIONS}={dimensions} does not fit "
                f"{model.name}, which gives {model.dimensions} dimensions"
                + (" or fewer" if model.reducible else "")
                + f"; set {c.ENV_EMBEDDING_DIMENSIONS} to {model.dimensions}"
            )

        vector_backend = env.get(c.ENV_VECTOR_BACKEND, "vertex")
        if vector_backend not in c.VECTOR_BACKENDS:
            raise ConfigError(
                f"{c.ENV_VECTOR_BACKEND} must be one of "
                f"{', '.join(c.VECTOR_BACKENDS)}, got {vector_backend!r}"
            )
        classification = (env.get(c.ENV_DATA_CLASSIFICATION) or "internal").lower()
        if classification not in c.DATA_CLASSIFICATIONS:
            raise ConfigError(
                f"{c.ENV_DATA_CLASSIFICATION} must be one of "
                f"{', '.join(c.DATA_CLASSIFICATIONS)}, got {classification!r}; set "
                "llmops:dataClassification"
            )
        settings = cls(
            docs_bucket=_required(
                env, c.ENV_DOCS_BUCKET, "name the bucket whose uploads are ingested"
            ),
            chunks_bucket=_required(
                env, c.ENV_CHUNKS_BUCKET, "name the bucket that keeps chunk text"
            ),
            dataset=_required(
                env, c.ENV_BIGQUERY_DATASET, "name the monitoring dataset"
            ),
            embedding_backend=embedding_backend,
            embedding_model=model,
            embedding_dimensions=dimensions,
            vector_backend=vector_backend,
            project=env.get(c.ENV_PROJECT) or None,
            location=env.get(c.ENV_LOCATION) or None,
            default_use_case=env.get(c.ENV_DEFAULT_USE_CASE) or "shared",
            vector_index=env.get(c.ENV_VECTOR_INDEX) or None,
            index_endpoint=env.get(c.ENV_INDEX_ENDPOINT) or None,
            deployed_index_id=env.get(c.ENV_DEPLOYED_INDEX_ID) or None,
            match_endpoint=env.get(c.ENV_MATCH_ENDPOINT) or None,
            milvus_uri=env.get(c.ENV_MILVUS_URI) or None,
            milvus_collection=env.get(c.ENV_MILVUS_COLLECTION) or "llmops_chunks",
            bigquery_endpoint=env.get(c.ENV_BIGQUERY_ENDPOINT) or None,
            vertex_endpoint=env.get(c.ENV_VERTEX_ENDPOINT) or None,
            chunk_tokens=_int(env, c.ENV_CHUNK_TOKENS, None),
            chunk_overlap=_int(env, c.ENV_CHUNK_OVERLAP, None),
            max_document_bytes=_positive(
                env, c.ENV_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_BYTES
            ),
            log_content=_flag(env, c.ENV_LOG_CONTENT),
            pii_redaction=_flag(env, c.ENV_PII_REDACTION)
            or classification in c.REDACTING_CLASSIFICATIONS,
            data_classification=classification,
            pii_policy=env.get(c.ENV_PII_POLICY, "").strip(),
            pii_hash_key=env.get(c.ENV_PII_HASH_KEY) or None,
            pii_phone_region=env.get(c.ENV_PII_PHONE_REGION) or "US",
            dlp_inspect_template=env.get(c.ENV_DLP_INSPECT_TEMPLATE) or None,
            dlp_deidentify_template=env.get(c.ENV_DLP_DEIDENTIFY_TEMPLATE) or None,
        )
        settings._check_backends()
        return settings

    def _check_backends(self) -> None:
        if bool(self.dlp_inspect_template) != bool(self.dlp_deidentify_template):
            raise ConfigError(
                f"set both {c.ENV_DLP_INSPECT_TEMPLATE} and "
                f"{c.ENV_DLP_DEIDENTIFY_TEMPLATE} to redact with Cloud DLP, or "
                "neither to use the offline recognizers"
            )
        if self.vector_backend == "vertex":
            for key, value in (
                (c.ENV_VECTOR_INDEX, self.vector_index),
                (c.ENV_INDEX_ENDPOINT, self.index_endpoint),
                (c.ENV_DEPLOYED_INDEX_ID, self.deployed_index_id),
            ):
                if not value:
                    raise ConfigError(
                        f"{key} is not set; the vertex vector backend needs the "
                        "index, its endpoint and the deployed index id"
                    )
        if self.vector_backend == "milvus" and not self.milvus_uri:
            raise ConfigError(
                f"{c.ENV_MILVUS_URI} is not set; give a Milvus server URI "
                "(http://host:19530) or a Milvus Lite directory"
            )
        if (self.embedding_backend == "vertex" or self.vector_backend == "vertex") and (
            not self.project or not self.location
        ):
            raise ConfigError(
                f"{c.ENV_PROJECT} and {c.ENV_LOCATION} must be set for the "
                "Vertex AI backends"
            )
