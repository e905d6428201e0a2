"""Rules every resource of the platform keeps, checked on the whole program."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest

from infra import catalog
from llmops import contract, views
from tests.infra.declared import platform_resources

BUCKET = "gcp:storage/bucket:Bucket"
# Resources that hold data: protected in prod, deletable in dev.
STATEFUL = {
    BUCKET,
    "gcp:bigquery/dataset:Dataset",
    "gcp:bigquery/table:Table",
    "gcp:vertex/aiIndex:AiIndex",
    "gcp:vertex/aiIndexEndpoint:AiIndexEndpoint",
    "gcp:artifactregistry/repository:Repository",
}


def _takes_labels(type_token: str) -> bool:
    """Whether the SDK class of a `gcp:module/name:Type` token accepts labels."""
    module, _, class_name = type_token.split(":", 1)[1].partition(":")
    sdk = importlib.import_module(f"pulumi_gcp.{module.split('/')[0]}")
    resource_class = getattr(sdk, class_name)
    return "labels" in inspect.signature(resource_class._internal_init).parameters


def _walk(value: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _walk(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in _walk(v, key)]
    return [(key, value)]


@pulumi.runtime.test
def test_no_bucket_is_public_and_every_bucket_has_uniform_access(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """Every bucket enforces public access prevention and uniform access, and no
    grant anywhere names allUsers or allAuthenticatedUsers."""
    platform = declare_stack(stack_values["dev"])

    def check(registrations: list[dict[str, Any]]) -> None:
        buckets = [r for r in registrations if r["type"] == BUCKET]
        assert len(buckets) >= 5
        for bucket in buckets:
            assert bucket["inputs"]["publicAccessPrevention"] == "enforced", bucket[
                "name"
            ]
            assert bucket["inputs"]["uniformBucketLevelAccess"] is True, bucket["name"]
        members = [
            value
            for r in registrations
            for key, value in _walk(r["inputs"])
            if key in ("member", "members")
        ]
        assert members
        assert not [m for m in members if m in catalog.PUBLIC_PRINCIPALS]

    return settled(platform_resources(platform), check)


@pulumi.runtime.test
def test_every_resource_that_takes_labels_carries_the_required_ones(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """Buckets, tables, the index, the functions and the repository all carry
    platform, environment, stack, managed-by and component labels."""
    platform = declare_stack(stack_values["dev"])

    def check(registrations: list[dict[str, Any]]) -> None:
        labelled = [r for r in registrations if _takes_labels(r["type"])]
        assert {r["type"] for r in labelled} >= {
            BUCKET,
            "gcp:vertex/aiIndex:AiIndex",
            "gcp:cloudfunctionsv2/function:Function",
            "gcp:bigquery/table:Table",
        }
        for resource in labelled:
            labels = resource["inputs"].get("labels", {})
            missing = set(catalog.REQUIRED_LABELS) - set(labels)
            assert not missing, f"{resource['name']} lacks {missing}"
            assert labels["environment"] == "dev"
            assert labels["team"] == "platform"

    return settled(platform_resources(platform), check)


@pulumi.runtime.test
def test_no_grant_uses_a_primitive_role(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """Owner, editor and viewer are never granted; every role is predefined."""
    platform = declare_stack(stack_values["dev"])

    def check(registrations: list[dict[str, Any]]) -> None:
        roles = [v for r in registrations for k, v in _walk(r["inputs"]) if k == "role"]
        assert len(roles) > 20
        assert not set(roles) & set(catalog.PRIMITIVE_ROLES)
        assert all(role.startswith("roles/") for role in roles)

    return settled(platform_resources(platform), check)


@pulumi.runtime.test
def test_a_prod_stack_is_protected(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """In prod every resource holding data is protected, tables refuse deletion,
    buckets keep their objects and the dataset its tables."""
    platform = declare_stack(stack_values["prod"], stack="prod")

    def check(registrations: list[dict[str, Any]]) -> None:
        stateful = [r for r in registrations if r["type"] in STATEFUL]
        assert len(stateful) >= 15
        for resource in stateful:
            assert resource["protect"], resource["name"]
            inputs = resource["inputs"]
            assert inputs.get("forceDestroy") in (None, False), resource["name"]
            assert inputs.get("deletionProtection") in (None, True), resource["name"]
            assert inputs.get("deleteContentsOnDestroy") in (None, False)

    return settled(platform_resources(platform), check)


@pulumi.runtime.test
def test_a_dev_stack_is_destroyable(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """In dev nothing is protected and `pulumi destroy` empties what it removes."""
    platform = declare_stack(stack_values["dev"])

    def check(registrations: list[dict[str, Any]]) -> None:
        assert not [r["name"] for r in registrations if r["protect"]]
        for resource in registrations:
            inputs = resource["inputs"]
            if resource["type"] == BUCKET:
                assert inputs["forceDestroy"] is True, resource["name"]
            if resource["type"] == "gcp:bigquery/table:Table":
                assert inputs["deletionProtection"] is False, resource["name"]
            if resource["type"] == "gcp:bigquery/dataset:Dataset":
                assert inputs["deleteContentsOnDestroy"] is True

    return settled(platform_resources(platform), check)


@pulumi.runtime.test
def test_views_are_fully_resolved_sql_over_the_stacks_dataset(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """One view per entry of llmops.views.VIEWS; each query names the stack's
    project and dataset in full, holds no placeholder or Output text, and the
    view waits for every table."""
    monitoring = declare_stack(stack_values["dev"], datasetId="acme_llm").monitoring
    assert sorted(monitoring.views) == sorted(v.name for v in views.VIEWS)
    assert views.VIEWS

    def check(args: list[Any]) -> None:
        table_urns, view_urns = (
            args[: len(monitoring.tables)],
            args[len(monitoring.tables) :],
        )
        for urn in view_urns:
            registration = mock_monitor.registrations[urn]
            query = registration["inputs"]["view"]["query"]
            assert "Output[" not in query and "{dataset}" not in query
            assert "`acme-llmops-dev.acme_llm`." in query
            assert registration["inputs"]["datasetId"] == "acme_llm"
            assert set(table_urns) <= set(registration["dependencies"])

    return pulumi.Output.all(
        *[t.urn for t in monitoring.tables.values()],
        *[v.urn for v in monitoring.views.values()],
    ).apply(check)


@pulumi.runtime.test
def test_tables_follow_their_schema_files(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """Each contract table is partitioned on its schema file's field, clustered
    as it says, and content tables expire after the content retention."""
    monitoring = declare_stack(
        stack_values["dev"], retentionDays="60", contentRetentionDays="20"
    ).monitoring
    assert sorted(monitoring.tables) == sorted(contract.TABLES)

    def check(urns: list[str]) -> None:
        day_ms = 24 * 3600 * 1000
        for name, urn in zip(monitoring.tables, urns, strict=True):
            spec = contract.table_spec(name)
            inputs = mock_monitor.registrations[urn]["inputs"]
            assert inputs["timePartitioning"]["field"] == spec.partition_field
            assert inputs["clusterings"] == spec.clustering
            days = 20 if spec.holds_content else 60
            assert inputs["timePartitioning"]["expirationMs"] == days * day_ms

    return pulumi.Output.all(*[t.urn for t in monitoring.tables.values()]).apply(check)


def test_canary_a_failing_assertion_inside_an_output_fails_the_test(
    mock_monitor: Any,
) -> None:
    """Assertions inside an Output's apply really run: a true one passes and a
    false one fails the test."""

    def expect(expected: str) -> Any:
        @pulumi.runtime.test
        def declare_and_check() -> Any:
            account = gcp.serviceaccount.Account(
                "canary", account_id="canary", project="acme-llmops-dev"
            )

            def check(email: str) -> None:
                assert email == expected, f"got {email}"

            return account.email.apply(check)

        return declare_and_check

    expect("canary@acme-llmops-dev.iam.gserviceaccount.com")()
    with pytest.raises(AssertionError, match="got canary@"):
        expect("not-the-email@example.com")()


@pulumi.runtime.test
def test_a_view_added_to_the_registry_is_declared_without_code_changes(
    declare_stack: Any, stack_values: Any, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The program declares whatever llmops.views.VIEWS holds when it runs."""
    extra = views.View(
        "feedback_daily_copy", "A copy, for the test.", "feedback_daily.sql"
    )
    monkeypatch.setattr(views, "VIEWS", (*views.VIEWS, extra))
    monitoring = declare_stack(stack_values["dev"]).monitoring
    assert set(monitoring.views) == {v.name for v in views.VIEWS}

    def check(table_id: str) -> None:
        assert table_id == "feedback_daily_copy"

    return monitoring.view_ids["feedback_daily_copy"].apply(check)
