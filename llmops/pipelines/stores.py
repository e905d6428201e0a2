"""Backends for the pipeline steps, chosen from explicit parameters.

A component receives project, dataset and (on the embedded default) the
BigQuery emulator's endpoint as parameters and builds its store here; it
never reads the environment.
"""

from __future__ import annotations

from llmops.backends.base import Embedder, TableStore
from llmops.errors import ConfigError


def open_table_store(
    project: str, dataset: str, bigquery_endpoint: str = ""
) -> TableStore:
    """The dataset's store: the emulator at ``bigquery_endpoint``, else BigQuery."""
    from llmops.backends.bigquery import BigQueryTableStore

    if bigquery_endpoint:
        return BigQueryTableStore.for_emulator(bigquery_endpoint, project, dataset)

    from google.cloud import bigquery

    return BigQueryTableStore(bigquery.Client(project=project), project, dataset)


def open_embedder(
    backend: str, model: str, project: str, location: str
) -> Embedder | None:
    """The embedder for similarity: ``local``, ``vertex``, or none when empty."""
    if not backend:
        return None
    if backend == "local":
        from llmops.backends.local_embeddings import LocalEmbedder

        return LocalEmbedder(model or "all-MiniLM-L6-v2")
    if backend == "vertex":
        from llmops.backends.vertex_embeddings import VertexEmbedder

        return VertexEmbedder(project, location, model or "text-embedding-005")
    raise ConfigError(
        f"embedding_backend {backend!r} is not known; pass local, vertex, or an "
        "empty string to skip embedding similarity"
    )
