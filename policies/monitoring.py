"""Monitoring rules: prompt and response text is kept for a bounded time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from llmops import contract
from policies import config
from policies import resource_types as t
from policies.rule import Rule, as_list, as_number, dig, report, stack_rule

DAY_MS = 86_400_000
# Field names that mean a table stores what users typed or models answered.
CONTENT_FIELDS = {"prompt", "response", "corrected_response", "comment"}


@cache
def content_tables() -> frozenset[str]:
    """The contract's tables that hold prompt or response text."""
    return frozenset(
        name for name in contract.TABLES if contract.table_spec(name).holds_content
    )


def _schema_fields(schema: Any) -> set[str]:
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError:
            return set()
    return {
        str(dig(item, "name")).lower()
        for item in as_list(schema)
        if isinstance(item, Mapping)
    }


def holds_content(resource: PolicyResource) -> bool:
    """Whether a table (not a view) stores prompts or responses."""
    props = resource.props
    if resource.resource_type != t.TABLE or props.get("view") is not None:
        return False
    if props.get("tableId") in content_tables():
        return True
    return bool(_schema_fields(props.get("schema")) & CONTENT_FIELDS)


def _dataset_of(
    table: PolicyResource, datasets: list[PolicyResource]
) -> PolicyResource | None:
    dataset_id = table.props.get("datasetId")
    for dataset in datasets:
        if dataset_id is not None and dataset.props.get("datasetId") == dataset_id:
            return dataset
    for dataset in datasets:
        if dataset in table.dependencies or dataset.urn in {
            d.urn for d in table.dependencies
        }:
            return dataset
    return None


def _retention(args: StackValidationArgs, violation: ReportViolation) -> None:
    maximum_days = config.number(args.get_config(), "maxRetentionDays")
    datasets = [r for r in args.resources if r.resource_type == t.DATASET]
    for table in args.resources:
        if not holds_content(table):
            continue
        partitioning = table.props.get("timePartitioning")
        if not isinstance(partitioning, Mapping):
            report(
                violation,
                table.resource_type,
                table.name,
                "holds prompt or response text but is not partitioned, so no "
                "partition expiration can bound how long it is kept",
                'set time_partitioning={"type": "DAY", "field": ..., '
                f'"expiration_ms": N}} with N at most {maximum_days:.0f} days',
                table.urn,
            )
            continue
        expiration = as_number(partitioning.get("expirationMs"))
        source = "its partition expiration"
        if expiration is None:
            dataset = _dataset_of(table, datasets)
            if dataset is not None:
                expiration = as_number(
                    dataset.props.get("defaultPartitionExpirationMs")
                )
                source = f"dataset {dataset.name!r}'s default partition expiration"
        if expiration is None or expiration <= 0:
            report(
                violation,
                table.resource_type,
                table.name,
                "holds prompt or response text and keeps it forever (no "
                "partition expiration on the table or its dataset)",
                f"set time_partitioning.expiration_ms (or the dataset's "
                f"default_partition_expiration_ms) to at most "
                f"{maximum_days:.0f} days ({int(maximum_days * DAY_MS)} ms)",
                table.urn,
            )
        elif expiration > maximum_days * DAY_MS:
            report(
                violation,
                table.resource_type,
                table.name,
                f"keeps prompt or response text for {expiration / DAY_MS:.0f} "
                f"days ({source}), above the maximum of {maximum_days:.0f}",
                f"lower the expiration to at most {int(maximum_days * DAY_MS)} ms, "
                "or raise maxRetentionDays in the policy config",
                table.urn,
            )


retention = stack_rule(
    "monitoring-content-retention",
    description=(
        "Every monitoring table that holds prompts or responses has a partition "
        "expiration (its own or its dataset's default) within the configured "
        "maximum: user text is personal data and must not be kept forever."
    ),
    remediation=(
        "Set time_partitioning.expiration_ms on the table, or "
        "default_partition_expiration_ms on its dataset, to at most "
        "maxRetentionDays."
    ),
    check=_retention,
    settings=("maxRetentionDays",),
)

RULES: list[Rule] = [retention]
