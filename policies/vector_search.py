"""Vector Search rules: a streaming index of the right shape, kept private."""

from __future__ import annotations

import re

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from llmops import contract
from llmops.errors import ConfigError
from policies import config
from policies import resource_types as t
from policies.functions import workloads
from policies.rule import (
    ADVISORY,
    Rule,
    as_number,
    dig,
    report,
    resource_rule,
    stack_rule,
)

STREAM_UPDATE = "STREAM_UPDATE"
DOT_PRODUCT = "DOT_PRODUCT_DISTANCE"
UNIT_NORM = "UNIT_L2_NORM"
DEPLOYED_INDEX_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# The runtime's own default for the vertex embedding backend (llmops.settings).
DEFAULT_MODEL = "text-embedding-005"


def _streaming(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != t.AI_INDEX:
        return
    method = args.props.get("indexUpdateMethod")
    if method != STREAM_UPDATE:
        report(
            violation,
            args.resource_type,
            args.name,
            f"uses update method {method!r}, so the ingestion function's "
            "upserts and deletes are rejected (and the method cannot be changed "
            "later without recreating the index)",
            f'set index_update_method="{STREAM_UPDATE}"',
        )


streaming = resource_rule(
    "vector-index-streaming",
    description=(
        "The vector index takes streaming updates: ingestion upserts and "
        "removes datapoints one document at a time, and the update method is "
        "immutable once the index exists."
    ),
    remediation=f'Set index_update_method="{STREAM_UPDATE}" on the AiIndex.',
    check=_streaming,
)


def expected_dimensions(args: StackValidationArgs) -> tuple[int, str]:
    """The embedding dimension the index must have, and where it comes from.

    The policy config wins (embeddingDimensions, then embeddingModel); then
    what the ingestion functions are told (LLMOPS_EMBEDDING_DIMENSIONS, then
    LLMOPS_EMBEDDING_MODEL); then the runtime's default model.
    """
    cfg = args.get_config()
    configured = int(config.number(cfg, "embeddingDimensions"))
    if configured > 0:
        return configured, "the embeddingDimensions policy setting"
    model_name = str(config.value(cfg, "embeddingModel") or "")
    if model_name:
        model = contract.embedding_model(model_name)
        return model.dimensions, f"the embeddingModel policy setting ({model_name})"
    for _, reading in workloads(args):
        raw = reading.environment.get(contract.ENV_EMBEDDING_DIMENSIONS)
        if as_number(raw) is not None:
            return int(float(str(raw))), f"{contract.ENV_EMBEDDING_DIMENSIONS}={raw}"
        name = reading.environment.get(contract.ENV_EMBEDDING_MODEL)
        if name in contract.EMBEDDING_MODELS:
            dims = contract.EMBEDDING_MODELS[name].dimensions
            return dims, f"{contract.ENV_EMBEDDING_MODEL}={name}"
    default = contract.EMBEDDING_MODELS[DEFAULT_MODEL].dimensions
    return default, f"the default embedding model ({DEFAULT_MODEL})"


def _dimension(args: StackValidationArgs, violation: ReportViolation) -> None:
    indexes = [r for r in args.resources if r.resource_type == t.AI_INDEX]
    if not indexes:
        return
    try:
        expected, source = expected_dimensions(args)
    except ConfigError as error:
        violation(f"the policy config cannot be read: {error}", None)
        return
    for resource in indexes:
        dims = as_number(dig(resource.props, "metadata", "config", "dimensions"))
        if dims is None or int(dims) != expected:
            found = "no dimension" if dims is None else f"{dims:.0f} dimensions"
            report(
                violation,
                resource.resource_type,
                resource.name,
                f"has {found}, but {source} gives {expected}; every upsert "
                "would be rejected",
                f'set metadata={{"config": {{"dimensions": {expected}, ...}}}} '
                "from the same setting the ingestion function receives",
                resource.urn,
            )
    for resource, reading in workloads(args):
        raw = reading.environment.get(contract.ENV_EMBEDDING_DIMENSIONS)
        number = as_number(raw)
        if number is not None and int(number) != expected:
            report(
                violation,
                resource.resource_type,
                resource.name,
                f"is given {contract.ENV_EMBEDDING_DIMENSIONS}={raw}, but the "
                f"index must have {expected} ({source})",
                f"wire {contract.ENV_EMBEDDING_DIMENSIONS} and the index "
                "dimension from one setting",
                resource.urn,
            )


dimension = stack_rule(
    "vector-index-dimension",
    description=(
        "The index dimension equals the configured embedding model's dimension "
        "and the one the ingestion functions use; a mismatch makes every upsert "
        "fail and the index cannot be resized."
    ),
    remediation=(
        "Derive metadata.config.dimensions and LLMOPS_EMBEDDING_DIMENSIONS from "
        "one stack setting, matching the embedding model (llmops.contract)."
    ),
    check=_dimension,
    settings=("embeddingModel", "embeddingDimensions"),
)


def _distance(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != t.AI_INDEX:
        return
    measure = dig(args.props, "metadata", "config", "distanceMeasureType")
    norm = dig(args.props, "metadata", "config", "featureNormType")
    if measure != DOT_PRODUCT or norm != UNIT_NORM:
        report(
            violation,
            args.resource_type,
            args.name,
            f"uses distance {measure!r} with normalisation {norm!r}",
            f'set distance_measure_type="{DOT_PRODUCT}" and '
            f'feature_norm_type="{UNIT_NORM}" in metadata.config',
        )


distance = resource_rule(
    "vector-index-distance",
    description=(
        "The index uses dot product on unit-normalised vectors, which Vector "
        "Search recommends over cosine: the same ranking, computed faster."
    ),
    remediation=(
        f"Set distance_measure_type={DOT_PRODUCT} and feature_norm_type={UNIT_NORM}."
    ),
    check=_distance,
    enforcement=ADVISORY,
    severity=Severity.LOW,
)


def _endpoint_private(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != t.AI_INDEX_ENDPOINT:
        return
    if args.props.get("publicEndpointEnabled") is not True:
        return
    if config.flag(args.get_config(), "allowPublicEndpoint"):
        return
    report(
        violation,
        args.resource_type,
        args.name,
        "exposes a public endpoint, reachable from the internet",
        "set public_endpoint_enabled=False and reach it over VPC peering or "
        "Private Service Connect, or set allowPublicEndpoint=true in the "
        "policy config if the stack truly needs it",
    )


endpoint_private = resource_rule(
    "vector-endpoint-private",
    description=(
        "The index endpoint is private unless the policy config allows a public "
        "one: a public endpoint serves the whole corpus's nearest neighbours to "
        "anyone holding a token."
    ),
    remediation=(
        "Set public_endpoint_enabled=False (use a VPC network or Private "
        "Service Connect), or set allowPublicEndpoint in the policy config."
    ),
    check=_endpoint_private,
    settings=("allowPublicEndpoint",),
)


def _deployed_index(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != t.AI_DEPLOYED_INDEX:
        return
    deployed_id = args.props.get("deployedIndexId")
    if not isinstance(deployed_id, str) or not DEPLOYED_INDEX_ID.match(deployed_id):
        report(
            violation,
            args.resource_type,
            args.name,
            f"has deployed index id {deployed_id!r}, which Vector Search rejects "
            "(an id starts with a letter and holds letters, digits and "
            "underscores)",
            'set deployed_index_id to a name such as "llmops_chunks"',
        )
    for key in ("automaticResources", "dedicatedResources"):
        low = as_number(dig(args.props, key, "minReplicaCount"))
        high = as_number(dig(args.props, key, "maxReplicaCount"))
        if low is not None and high is not None and high < low:
            report(
                violation,
                args.resource_type,
                args.name,
                f"has {key}.maxReplicaCount {high:.0f} below minReplicaCount {low:.0f}",
                "set max_replica_count at least min_replica_count",
            )


deployed_index = resource_rule(
    "vector-deployed-index-valid",
    description=(
        "The deployed index has an id Vector Search accepts and a replica range "
        "that makes sense: a bad one fails only after a deploy of tens of "
        "minutes."
    ),
    remediation=(
        "Use an id that starts with a letter and holds letters, digits and "
        "underscores; keep max_replica_count at least min_replica_count."
    ),
    check=_deployed_index,
)


def _autoscaling(args: ResourceValidationArgs, violation: ReportViolation) -> None:
    if args.resource_type != t.AI_DEPLOYED_INDEX:
        return
    for key in ("automaticResources", "dedicatedResources"):
        low = as_number(dig(args.props, key, "minReplicaCount")) or 1
        high = as_number(dig(args.props, key, "maxReplicaCount"))
        if high is not None and high > low:
            return
    report(
        violation,
        args.resource_type,
        args.name,
        "cannot scale out (no maxReplicaCount above minReplicaCount), so query "
        "load beyond one replica's capacity is throttled",
        'set automatic_resources={"min_replica_count": 1, "max_replica_count": N} '
        "with N above 1",
    )


autoscaling = resource_rule(
    "vector-deployed-index-autoscaling",
    description=(
        "The deployed index autoscales between a minimum and a larger maximum "
        "replica count, so query bursts are served instead of throttled."
    ),
    remediation=(
        "Set automatic_resources (or dedicated_resources) with max_replica_count "
        "above min_replica_count."
    ),
    check=_autoscaling,
    enforcement=ADVISORY,
    severity=Severity.MEDIUM,
)

RULES: list[Rule] = [
    streaming,
    dimension,
    distance,
    endpoint_private,
    deployed_index,
    autoscaling,
]
