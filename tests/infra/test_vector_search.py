"""Vector Search: the index's shape follows the embedding model it serves."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra import catalog
from infra.vector_search import bootstrap_datapoint
from llmops import contract

VERTEX_MODELS = sorted(
    name
    for name, model in contract.EMBEDDING_MODELS.items()
    if model.backend == "vertex"
)


def _dimension_check(platform: Any, expected: int) -> Any:
    vector = platform.vector_search
    functions = list(platform.ingestion.functions.values())

    def check(args: list[Any]) -> None:
        method, metadata, *services = args
        assert method == "STREAM_UPDATE"
        config = metadata["config"]
        assert config["dimensions"] == expected
        assert config["distance_measure_type"] == "DOT_PRODUCT_DISTANCE"
        assert config["feature_norm_type"] == "UNIT_L2_NORM"
        assert "tree_ah_config" in config["algorithm_config"]
        for service in services:
            env = service["environment_variables"]
            assert int(env[contract.ENV_EMBEDDING_DIMENSIONS]) == expected

    return pulumi.Output.all(
        vector.index.index_update_method,
        vector.index.metadata,
        *[f.service_config for f in functions],
    ).apply(check)


@pytest.mark.parametrize("model", VERTEX_MODELS)
@pulumi.runtime.test
def test_index_dimension_is_the_dimension_the_function_embeds_with(
    model: str, declare_stack: Any, stack_values: Any
) -> Any:
    """For every supported model, the index and both functions get the model's
    dimension, and the index takes streaming updates."""
    values = {k: v for k, v in stack_values["dev"].items() if "embeddingDim" not in k}
    platform = declare_stack(values, embeddingModel=model)
    return _dimension_check(platform, contract.EMBEDDING_MODELS[model].dimensions)


@pulumi.runtime.test
def test_a_reduced_dimension_reaches_both_the_index_and_the_functions(
    declare_stack: Any, stack_values: Any
) -> Any:
    """A reducible model's smaller output size is the one the index is built for."""
    platform = declare_stack(
        stack_values["dev"],
        embeddingModel="gemini-embedding-001",
        embeddingDimensions="768",
    )
    return _dimension_check(platform, 768)


@pulumi.runtime.test
def test_index_and_deployment_have_long_custom_timeouts(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """The index build and the deployment get hours, not the default minutes."""
    vector = declare_stack(stack_values["dev"]).vector_search

    def check(urns: list[str]) -> None:
        index, deployed = (mock_monitor.registrations[u] for u in urns)
        assert index["customTimeouts"] == catalog.INDEX_TIMEOUTS
        assert deployed["customTimeouts"] == catalog.DEPLOYED_INDEX_TIMEOUTS
        assert deployed["customTimeouts"]["create"].endswith("h")

    return pulumi.Output.all(vector.index.urn, vector.deployed_index.urn).apply(check)


@pulumi.runtime.test
def test_first_deploy_has_a_datapoint_and_autoscaled_replicas(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """The index is built from the bootstrap folder, which it waits for, and
    the deployment scales between the stack's replica bounds."""
    vector = declare_stack(
        stack_values["dev"], indexMinReplicas="2", indexMaxReplicas="5"
    ).vector_search
    datapoint = next(
        r
        for r in vector._childResources
        if isinstance(r, pulumi.CustomResource) and "bootstrap" in r._name
    )

    def check(args: list[Any]) -> None:
        index_urn, datapoint_urn, bucket, dedicated = args
        index = mock_monitor.registrations[index_urn]
        assert datapoint_urn in index["dependencies"]
        stored = mock_monitor.registrations[datapoint_urn]["inputs"]
        assert (
            index["inputs"]["metadata"]["contentsDeltaUri"]
            == f"gs://{bucket}/bootstrap"
        )
        assert stored["name"].startswith("bootstrap/")
        assert dedicated["min_replica_count"] == 2
        assert dedicated["max_replica_count"] == 5

    return pulumi.Output.all(
        vector.index.urn,
        datapoint.urn,
        vector.contents_bucket,
        vector.deployed_index.dedicated_resources,
    ).apply(check)


@pulumi.runtime.test
def test_endpoint_is_private_unless_the_stack_asks_for_public(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """By default the endpoint is reachable through Private Service Connect only."""
    vector = declare_stack(stack_values["dev"]).vector_search
    endpoint = next(
        r
        for r in vector._childResources
        if isinstance(r, pulumi.CustomResource) and r._name.endswith("-endpoint")
    )

    def check(urn: str) -> None:
        inputs = mock_monitor.registrations[urn]["inputs"]
        assert inputs["publicEndpointEnabled"] is False
        assert inputs["privateServiceConnectConfig"]["enablePrivateServiceConnect"]

    return endpoint.urn.apply(check)


def test_bootstrap_datapoint_is_unit_length_and_outside_every_use_case() -> None:
    """The bootstrap vector has the index's dimension and length 1, and its
    use-case restrict matches no use case name a stack may declare."""
    line = json.loads(bootstrap_datapoint(384))
    assert line["id"] == contract.BOOTSTRAP_DATAPOINT_ID
    assert len(line["embedding"]) == 384
    assert sum(x * x for x in line["embedding"]) == pytest.approx(1.0)
    (restrict,) = line["restricts"]
    assert restrict["namespace"] == contract.RESTRICT_USE_CASE
    assert restrict["allow"] == ["__bootstrap__"]
