"""Creating the monitoring views (``llmops/sql/views/*.sql``) over a dataset.

The local platform calls ``create_views`` once its tables exist; in the cloud
infra/ declares the same views from ``llmops.views.VIEWS``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from llmops.backends.base import TableStore
from llmops.views import VIEWS, View

logger = logging.getLogger(__name__)


def create_views(table_store: TableStore, views: Iterable[View] = VIEWS) -> list[str]:
    """Create or replace every view; return their names.

    A store that can declare views itself (``ensure_views``, as the BigQuery
    store can) does; any other gets ``CREATE OR REPLACE VIEW`` statements.
    """
    chosen = list(views)
    ensure = getattr(table_store, "ensure_views", None)
    if callable(ensure):
        ensure(chosen)
    else:
        for view in chosen:
            table_store.query(
                f"CREATE OR REPLACE VIEW {{dataset}}.{view.name} AS\n{view.template()}"
            )
    logger.info("monitoring.views_ready views=%d", len(chosen))
    return [view.name for view in chosen]
