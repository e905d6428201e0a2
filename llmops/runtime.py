"""Choosing backends: done once, at the edge, from ``Settings``.

The function entrypoints, the CLI and the local platform call these; nothing
below them ever builds a concrete backend.
"""

from __future__ import annotations

import os
from functools import lru_cache

from llmops.backends.base import Embedder, ObjectStore, TableStore, VectorIndex
from llmops.chunk_store import ChunkStore
from llmops.contract import ENV_STORAGE_EMULATOR_HOST
from llmops.ingest.chunking import ChunkingConfig
from llmops.ingest.pipeline import IngestionPipeline
from llmops.protection import (
    DlpRedactor,
    InjectionDetector,
    OfflineRedactor,
    RedactionPolicy,
    Redactor,
)
from llmops.retrieval import Retriever
from llmops.settings import Settings


def object_store(settings: Settings) -> ObjectStore:
    from llmops.backends.gcs import GcsObjectStore

    emulator = os.environ.get(ENV_STORAGE_EMULATOR_HOST)
    if emulator:
        return GcsObjectStore.for_emulator(
            emulator, project=settings.project or "local"
        )
    from google.cloud import storage

    return GcsObjectStore(storage.Client(project=settings.project))


def table_store(settings: Settings) -> TableStore:
    from llmops.backends.bigquery import BigQueryTableStore

    if settings.bigquery_endpoint:
        return BigQueryTableStore.for_emulator(
            settings.bigquery_endpoint,
            project=settings.project or "local",
            dataset=settings.dataset,
        )
    from google.cloud import bigquery

    return BigQueryTableStore(
        bigquery.Client(project=settings.project),
        settings.project or "",
        settings.dataset,
        location=settings.location,
    )


@lru_cache(maxsize=4)
def _local_embedder(model: str) -> Embedder:
    from llmops.backends.local_embeddings import LocalEmbedder

    return LocalEmbedder(model)


def embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "local":
        return _local_embedder(settings.embedding_model.name)
    from llmops.backends.vertex_embeddings import VertexEmbedder

    return VertexEmbedder.from_settings(settings)


def vector_index(
    settings: Settings, *, create_dimensions: int | None = None
) -> VectorIndex:
    """The configured index; a Milvus collection is created if asked to."""
    if settings.vector_backend == "milvus":
        from llmops.backends.milvus import MilvusVectorIndex

        index = MilvusVectorIndex(settings.milvus_uri or "", settings.milvus_collection)
        if create_dimensions is not None:
            index.ensure_collection(create_dimensions)
        return index
    from llmops.backends.vertex_vector_search import VertexVectorIndex

    return VertexVectorIndex.from_settings(
        settings, match_endpoint=settings.match_endpoint
    )


def chunk_store(settings: Settings, objects: ObjectStore | None = None) -> ChunkStore:
    return ChunkStore(objects or object_store(settings), settings.chunks_bucket)


def build_pipeline(settings: Settings) -> IngestionPipeline:
    """The ingestion pipeline with the backends the settings name."""
    objects = object_store(settings)
    model = embedder(settings)
    redactor, scanner = protection(settings)
    return IngestionPipeline(
        docs_bucket=settings.docs_bucket,
        objects=objects,
        chunks=chunk_store(settings, objects),
        embedder=model,
        # A Milvus collection is created on first use, sized for the embedder;
        # a Vector Search index is provisioned by infra/.
        index=vector_index(settings, create_dimensions=settings.embedding_dimensions),
        tables=table_store(settings),
        chunking=ChunkingConfig.for_model(
            model.model.max_input_tokens, settings.chunk_tokens, settings.chunk_overlap
        ),
        default_use_case=settings.default_use_case,
        max_document_bytes=settings.max_document_bytes,
        redactor=redactor,
        scanner=scanner,
    )


def build_retriever(settings: Settings) -> Retriever:
    # A Milvus collection nothing was ingested into yet is created empty, so
    # that a first search answers "no hits" rather than failing.
    index = vector_index(settings, create_dimensions=settings.embedding_dimensions)
    return Retriever(embedder(settings), index, chunk_store(settings))


def protection(settings: Settings) -> tuple[Redactor | None, InjectionDetector]:
    """The redactor the settings ask for (None when off) and the detector."""
    detector = InjectionDetector()
    if not settings.pii_redaction:
        return None, detector
    policy = RedactionPolicy.parse(
        settings.pii_policy or "*=mask", hash_key=settings.pii_hash_key
    )
    if settings.dlp_inspect_template and settings.dlp_deidentify_template:
        from google.cloud import dlp_v2

        return (
            DlpRedactor(
                dlp_v2.DlpServiceClient(),
                project=settings.project or "",
                location=settings.location or "global",
                inspect_template=settings.dlp_inspect_template,
                deidentify_template=settings.dlp_deidentify_template,
            ),
            detector,
        )
    return OfflineRedactor(policy, phone_region=settings.pii_phone_region), detector
