"""Fixtures of the use-case tests: a fresh registry bucket and fresh tables.

Both live on the session's emulators (``local_emulators``); each test gets
its own bucket or dataset, so tests never see each other's rows.
"""

from __future__ import annotations

import uuid

import pytest

from llmops.backends.bigquery import BigQueryTableStore
from llmops.backends.gcs import GcsObjectStore
from llmops.monitoring import create_views

PSEUDONYM_KEY = b"use-case-tests-pseudonym-key"


@pytest.fixture
def registry_bucket(local_object_store: GcsObjectStore) -> str:
    """A new, empty, versioned bucket to hold a prompt registry."""
    name = f"prompts-{uuid.uuid4().hex[:12]}"
    local_object_store.ensure_bucket(name, versioned=True)
    return name


@pytest.fixture
def monitoring_tables(local_tables: BigQueryTableStore) -> BigQueryTableStore:
    """A fresh dataset with every contract table and the monitoring views."""
    create_views(local_tables)
    return local_tables
