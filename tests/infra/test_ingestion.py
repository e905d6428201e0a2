"""The ingestion component: bindings, environment and trigger location."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from infra import catalog
from infra.config import StackConfigError, load
from llmops import contract
from llmops.settings import Settings
from tests.infra.declared import platform_resources

REQUIRED_BINDINGS = {
    "storage-agent-publisher": catalog.ROLE_PUBSUB_PUBLISHER,
    "trigger-event-receiver": catalog.ROLE_EVENTARC_RECEIVER,
    "trigger-invoker": catalog.ROLE_RUN_INVOKER,
}


@pulumi.runtime.test
def test_event_bindings_exist_and_both_functions_depend_on_them(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """The storage agent may publish, the trigger account may receive and invoke,
    and each function waits for all three grants."""
    platform = declare_stack(stack_values["dev"])
    ingestion = platform.ingestion
    bindings = [ingestion.bindings[key] for key in REQUIRED_BINDINGS]
    functions = list(ingestion.functions.values())
    storage_agent = platform.apis.storage_agent_member

    def check(args: list[Any]) -> None:
        agent, trigger_email, *urns = args
        binding_urns, function_urns = urns[: len(bindings)], urns[len(bindings) :]
        registered = mock_monitor.registrations
        members = {}
        for key, urn in zip(REQUIRED_BINDINGS, binding_urns, strict=True):
            inputs = registered[urn]["inputs"]
            assert inputs["role"] == REQUIRED_BINDINGS[key]
            members[key] = inputs["member"]
        assert members["storage-agent-publisher"] == agent
        assert agent.endswith("@gs-project-accounts.iam.gserviceaccount.com")
        assert members["trigger-event-receiver"] == f"serviceAccount:{trigger_email}"
        assert members["trigger-invoker"] == f"serviceAccount:{trigger_email}"
        assert len(function_urns) == 2
        for urn in function_urns:
            dependencies = set(registered[urn]["dependencies"])
            assert set(binding_urns) <= dependencies, urn
            trigger = registered[urn]["inputs"]["eventTrigger"]
            assert trigger["serviceAccountEmail"] == trigger_email

    return pulumi.Output.all(
        storage_agent,
        ingestion.trigger_account_email,
        *[b.urn for b in bindings],
        *[f.urn for f in functions],
    ).apply(check)


@pulumi.runtime.test
def test_functions_environment_is_the_contract_and_the_runtime_accepts_it(
    declare_stack: Any, stack_values: Any
) -> Any:
    """Each function gets exactly the contract's cloud variables, which
    Settings.from_env reads them into the buckets, index and model declared."""
    platform = declare_stack(stack_values["dev"])
    ingestion, vector = platform.ingestion, platform.vector_search
    expected_names = {
        contract.ENV_PROJECT,
        contract.ENV_LOCATION,
        contract.ENV_DOCS_BUCKET,
        contract.ENV_CHUNKS_BUCKET,
        contract.ENV_BIGQUERY_DATASET,
        contract.ENV_DEFAULT_USE_CASE,
        contract.ENV_EMBEDDING_BACKEND,
        contract.ENV_EMBEDDING_MODEL,
        contract.ENV_EMBEDDING_DIMENSIONS,
        contract.ENV_VECTOR_BACKEND,
        contract.ENV_VECTOR_INDEX,
        contract.ENV_INDEX_ENDPOINT,
        contract.ENV_DEPLOYED_INDEX_ID,
        contract.ENV_PII_REDACTION,
        contract.ENV_DATA_CLASSIFICATION,
    }

    def check(args: list[Any]) -> None:
        docs, chunks, index, endpoint, *configs = args
        assert len(configs) == 2
        for service in configs:
            env = service["environment_variables"]
            assert set(env) == expected_names
            settings = Settings.from_env(env)
            assert settings.docs_bucket == docs
            assert settings.chunks_bucket == chunks != docs
            assert settings.vector_index == index
            assert settings.index_endpoint == endpoint
            assert settings.embedding_backend == settings.vector_backend == "vertex"
            assert settings.default_use_case == "support"

    return pulumi.Output.all(
        ingestion.docs_bucket,
        ingestion.chunks_bucket,
        vector.index_name,
        vector.index_endpoint_name,
        *[f.service_config for f in ingestion.functions.values()],
    ).apply(check)


@pulumi.runtime.test
def test_functions_are_gen2_python_with_retries_and_limits(
    declare_stack: Any, stack_values: Any
) -> Any:
    """Both functions run python311 from the source archive, retry failed
    events, and keep their timeout within the event-function limit."""
    platform = declare_stack(stack_values["dev"], functionTimeoutSeconds="540")
    functions = platform.ingestion.functions

    def check(args: list[Any]) -> None:
        (build_f, service_f, trigger_f, build_d, service_d, trigger_d, source) = args
        for build, service, trigger, spec in (
            (build_f, service_f, trigger_f, ("on_object_finalized", "finalized")),
            (build_d, service_d, trigger_d, ("on_object_deleted", "deleted")),
        ):
            assert build["runtime"] == catalog.FUNCTION_RUNTIME
            assert build["entry_point"] == spec[0]
            assert build["source"]["storage_source"]["object"] == source
            assert trigger["event_type"] == f"google.cloud.storage.object.v1.{spec[1]}"
            assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
            assert service["timeout_seconds"] == 540
            assert service["max_instance_count"] == 3

    return pulumi.Output.all(
        functions["finalized"].build_config,
        functions["finalized"].service_config,
        functions["finalized"].event_trigger,
        functions["deleted"].build_config,
        functions["deleted"].service_config,
        functions["deleted"].event_trigger,
        platform.ingestion.source_object,
    ).apply(check)


@pulumi.runtime.test
def test_trigger_region_is_the_docs_bucket_location(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """With the docs bucket in the EU multi-region, both triggers are in `eu`."""
    platform = declare_stack(stack_values["prod"], stack="prod")
    docs_urn = next(
        r.urn
        for r in platform.ingestion._childResources
        if isinstance(r, pulumi.CustomResource) and r._name == "ingestion-docs"
    )
    functions = list(platform.ingestion.functions.values())

    def check(args: list[Any]) -> None:
        urn, *triggers = args
        location = mock_monitor.registrations[urn]["inputs"]["location"]
        assert location == "EU"
        assert [t["trigger_region"] for t in triggers] == ["eu", "eu"]

    return pulumi.Output.all(docs_urn, *[f.event_trigger for f in functions]).apply(
        check
    )


def test_a_trigger_region_other_than_the_bucket_location_is_refused(
    stack_values: Any,
) -> None:
    """A stack file whose trigger region differs from the bucket's location
    fails before any resource, naming the key and the command that fixes it."""
    values = {**stack_values["dev"], "llmops:triggerRegion": "us-east1"}
    with pytest.raises(StackConfigError) as raised:
        load(values, "dev")
    message = str(raised.value)
    assert "llmops:triggerRegion" in message
    assert "'us-central1'" in message
    assert "pulumi config set llmops:triggerRegion" in message


def test_a_docs_bucket_outside_the_region_is_refused(stack_values: Any) -> None:
    """A docs bucket in a location that does not span the functions' region
    is refused, since its events could not reach them."""
    values = {**stack_values["dev"], "llmops:docsBucketLocation": "EU"}
    with pytest.raises(StackConfigError) as raised:
        load(values, "dev")
    assert "llmops:docsBucketLocation" in str(raised.value)
    assert "pulumi config set llmops:docsBucketLocation" in str(raised.value)


@pulumi.runtime.test
def test_uploaders_may_manage_documents_in_the_docs_bucket_only(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """Each docs uploader gets object rights on the docs bucket and nowhere else."""
    platform = declare_stack(
        stack_values["dev"], docsUploaders='["group:writers@example.com"]'
    )

    def check(registrations: list[dict[str, Any]]) -> None:
        grants = [
            r["inputs"]
            for r in registrations
            if r["inputs"].get("member") == "group:writers@example.com"
        ]
        assert grants == [
            {
                "bucket": "acme-llmops-dev-llmops-docs",
                "member": "group:writers@example.com",
                "role": catalog.ROLE_OBJECT_USER,
            }
        ]

    return settled(platform_resources(platform), check)
