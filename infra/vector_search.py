"""Vector Search: a streaming index, its endpoint and the deployed index.

The index takes upserts as documents are ingested (STREAM_UPDATE, which cannot
be changed later), measures dot product on unit-normalised vectors and uses
tree-AH. Vector Search refuses to deploy an empty index, so the index is
created from one bootstrap datapoint kept in the component's own bucket; its
restrict value matches no use case, so restricted queries never return it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from infra.storage import private_bucket
from llmops import contract

# The SDK's argument types, by the part of the API they describe.
_Metadata = gcp.vertex.AiIndexMetadataArgs
_MetadataConfig = gcp.vertex.AiIndexMetadataConfigArgs
_Algorithm = gcp.vertex.AiIndexMetadataConfigAlgorithmConfigArgs
_TreeAh = gcp.vertex.AiIndexMetadataConfigAlgorithmConfigTreeAhConfigArgs
_PrivateServiceConnect = gcp.vertex.AiIndexEndpointPrivateServiceConnectConfigArgs
_Dedicated = gcp.vertex.AiIndexEndpointDeployedIndexDedicatedResourcesArgs
_MachineSpec = gcp.vertex.AiIndexEndpointDeployedIndexDedicatedResourcesMachineSpecArgs

BOOTSTRAP_PREFIX = "bootstrap"


def bootstrap_datapoint(dimensions: int) -> str:
    """One unit-length datapoint, as a JSON line of the index's input format."""
    embedding = [1.0] + [0.0] * (dimensions - 1)
    return json.dumps(
        {
            "id": contract.BOOTSTRAP_DATAPOINT_ID,
            "embedding": embedding,
            "restricts": [
                {
                    "namespace": contract.RESTRICT_USE_CASE,
                    "allow": [contract.BOOTSTRAP_RESTRICT_VALUE],
                }
            ],
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class VectorSearchArgs:
    """The index's shape and how it is served."""

    project: str
    region: str
    dimensions: int
    shard_size: str
    machine_type: str
    min_replicas: int
    max_replicas: int
    public_endpoint: bool
    deployed_index_id: str
    contents_bucket: str
    labels: Mapping[str, str]
    protect: bool
    # The Vertex AI agent reads the bootstrap datapoint when building the index.
    vertex_agent_member: pulumi.Input[str]
    services: Sequence[pulumi.Resource]


class VectorSearch(pulumi.ComponentResource):
    """The index, its endpoint and the deployed index serving queries."""

    index_name: pulumi.Output[str]
    index_endpoint_name: pulumi.Output[str]
    deployed_index_id: pulumi.Output[str]
    contents_bucket: pulumi.Output[str]
    public_endpoint_domain: pulumi.Output[str]
    index: gcp.vertex.AiIndex
    deployed_index: gcp.vertex.AiIndexEndpointDeployedIndex

    def __init__(
        self,
        name: str,
        args: VectorSearchArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_VECTOR_SEARCH, name, None, opts)
        services = list(args.services)

        # The bootstrap datapoint, readable by the agent that builds the index.
        bucket = private_bucket(
            f"{name}-contents",
            parent=self,
            name=args.contents_bucket,
            project=args.project,
            location=args.region,
            labels=args.labels,
            protect=args.protect,
            depends_on=services,
        )
        datapoint = gcp.storage.BucketObject(
            f"{name}-bootstrap-datapoint",
            bucket=bucket.name,
            name=f"{BOOTSTRAP_PREFIX}/datapoints.json",
            content=bootstrap_datapoint(args.dimensions),
            content_type="application/json",
            opts=pulumi.ResourceOptions(parent=self),
        )
        agent_reads = gcp.storage.BucketIAMMember(
            f"{name}-vertex-agent-reads-contents",
            bucket=bucket.name,
            role=catalog.ROLE_OBJECT_VIEWER,
            member=args.vertex_agent_member,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.index = gcp.vertex.AiIndex(
            f"{name}-index",
            project=args.project,
            region=args.region,
            display_name=f"{name}-index",
            description="Chunks of ingested documents, upserted as they arrive.",
            index_update_method=catalog.INDEX_UPDATE_METHOD,
            metadata=_Metadata(
                contents_delta_uri=pulumi.Output.concat(
                    "gs://", bucket.name, f"/{BOOTSTRAP_PREFIX}"
                ),
                config=_MetadataConfig(
                    dimensions=args.dimensions,
                    approximate_neighbors_count=catalog.APPROXIMATE_NEIGHBORS_COUNT,
                    distance_measure_type=catalog.INDEX_DISTANCE,
                    feature_norm_type=catalog.INDEX_FEATURE_NORM,
                    shard_size=args.shard_size,
                    algorithm_config=_Algorithm(
                        tree_ah_config=_TreeAh(
                            leaf_node_embedding_count=(
                                catalog.TREE_AH_LEAF_NODE_EMBEDDING_COUNT
                            ),
                            leaf_nodes_to_search_percent=(
                                catalog.TREE_AH_LEAF_NODES_TO_SEARCH_PERCENT
                            ),
                        )
                    ),
                ),
            ),
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=[*services, datapoint, agent_reads],
                custom_timeouts=pulumi.CustomTimeouts(**catalog.INDEX_TIMEOUTS),
            ),
        )

        # Private (Private Service Connect, this project only) unless asked.
        # Limitation: no PSC endpoint (forwarding rule) is created in a client
        # VPC, so queries reach a private index only once the network team adds
        # one, until a stack setting names the VPC for PSC automation.
        private = (
            None
            if args.public_endpoint
            else _PrivateServiceConnect(
                enable_private_service_connect=True,
                project_allowlists=[args.project],
            )
        )
        endpoint = gcp.vertex.AiIndexEndpoint(
            f"{name}-endpoint",
            project=args.project,
            region=args.region,
            display_name=f"{name}-endpoint",
            description="Serves the platform's index to the use cases.",
            public_endpoint_enabled=args.public_endpoint,
            private_service_connect_config=private,
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=services
            ),
        )

        self.deployed_index = gcp.vertex.AiIndexEndpointDeployedIndex(
            f"{name}-deployed-index",
            region=args.region,
            index_endpoint=endpoint.id,
            index=self.index.id,
            deployed_index_id=args.deployed_index_id,
            display_name=args.deployed_index_id,
            dedicated_resources=_Dedicated(
                machine_spec=_MachineSpec(machine_type=args.machine_type),
                min_replica_count=args.min_replicas,
                max_replica_count=args.max_replicas,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=services,
                custom_timeouts=pulumi.CustomTimeouts(
                    **catalog.DEPLOYED_INDEX_TIMEOUTS
                ),
            ),
        )

        self.index_name = self.index.id
        self.index_endpoint_name = endpoint.id
        self.deployed_index_id = self.deployed_index.deployed_index_id
        self.contents_bucket = bucket.name
        self.public_endpoint_domain = endpoint.public_endpoint_domain_name.apply(
            lambda domain: domain or ""
        )
        self.register_outputs(
            {
                "indexName": self.index_name,
                "indexEndpointName": self.index_endpoint_name,
                "deployedIndexId": self.deployed_index_id,
                "contentsBucket": self.contents_bucket,
                "publicEndpointDomain": self.public_endpoint_domain,
            }
        )
