"""Monitoring: the BigQuery dataset, its tables and the metric views.

The tables' schemas, partitioning and clustering come from the JSON files the
runtime writes rows against (`llmops.contract.table_spec`); the views come from
`llmops.views.VIEWS`, rendered with the project and dataset so their SQL names
every table in full. Partitions expire after the retention period; tables that
hold prompt or response text expire after the shorter content retention. A
retention of 0 days declares no expiration; the policy pack reports that for
content tables (monitoring-content-retention).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from llmops import contract, views

DAY_MS = 24 * 60 * 60 * 1000


def _current_views() -> tuple[views.View, ...]:
    return tuple(views.VIEWS)


def _dataset_default_ms(args: MonitoringArgs) -> int | None:
    """The dataset's default partition expiration, or None for none.

    BigQuery gives the default to every partitioned table created without an
    expiration of its own, so when one retention is 0 (keep forever) the
    dataset has no default: the tables that keep forever would get it.
    """
    if not args.retention_days or not args.content_retention_days:
        return None
    return args.retention_days * DAY_MS


@dataclass(frozen=True)
class MonitoringArgs:
    """Where the dataset lives, how long rows stay, and what it holds."""

    project: str
    dataset_id: str
    location: str
    retention_days: int
    content_retention_days: int
    labels: Mapping[str, str]
    protect: bool
    services: Sequence[pulumi.Resource]
    tables: tuple[str, ...] = contract.TABLES
    views: tuple[views.View, ...] = field(default_factory=_current_views)


class Monitoring(pulumi.ComponentResource):
    """The monitoring dataset, one table per schema file, one view per SQL file."""

    dataset_id: pulumi.Output[str]
    table_ids: dict[str, pulumi.Output[str]]
    view_ids: dict[str, pulumi.Output[str]]
    dataset: gcp.bigquery.Dataset
    tables: dict[str, gcp.bigquery.Table]
    views: dict[str, gcp.bigquery.Table]

    def __init__(
        self,
        name: str,
        args: MonitoringArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_MONITORING, name, None, opts)
        services = list(args.services)

        self.dataset = gcp.bigquery.Dataset(
            f"{name}-dataset",
            project=args.project,
            dataset_id=args.dataset_id,
            location=args.location,
            description="Interactions, feedback, ingestion and prompt-registry events.",
            default_partition_expiration_ms=_dataset_default_ms(args),
            delete_contents_on_destroy=not args.protect,
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=services
            ),
        )

        self.tables = {}
        for table in args.tables:
            spec = contract.table_spec(table)
            days = (
                args.content_retention_days
                if spec.holds_content
                else args.retention_days
            )
            self.tables[table] = gcp.bigquery.Table(
                f"{name}-{table.replace('_', '-')}",
                project=args.project,
                dataset_id=self.dataset.dataset_id,
                table_id=spec.name,
                description=spec.description,
                schema=json.dumps(spec.fields),
                time_partitioning=gcp.bigquery.TableTimePartitioningArgs(
                    type=catalog.TIME_PARTITIONING_DAY,
                    field=spec.partition_field,
                    expiration_ms=days * DAY_MS if days else None,
                ),
                clusterings=list(spec.clustering),
                deletion_protection=args.protect,
                labels=dict(args.labels),
                opts=pulumi.ResourceOptions(
                    parent=self, protect=args.protect, depends_on=services
                ),
            )

        # Views read the tables, so they are created after them.
        self.views = {}
        for view in args.views:
            self.views[view.name] = gcp.bigquery.Table(
                f"{name}-view-{view.name.replace('_', '-')}",
                project=args.project,
                dataset_id=self.dataset.dataset_id,
                table_id=view.name,
                description=view.description,
                view=gcp.bigquery.TableViewArgs(
                    query=view.render(args.project, args.dataset_id),
                    use_legacy_sql=False,
                ),
                deletion_protection=args.protect,
                labels=dict(args.labels),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    protect=args.protect,
                    depends_on=[*services, *self.tables.values()],
                ),
            )

        self.dataset_id = self.dataset.dataset_id
        self.table_ids = {key: table.table_id for key, table in self.tables.items()}
        self.view_ids = {key: view.table_id for key, view in self.views.items()}
        self.register_outputs(
            {
                "datasetId": self.dataset_id,
                "tableIds": self.table_ids,
                "viewIds": self.view_ids,
            }
        )
