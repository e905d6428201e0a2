"""Rules read their settings from the policy config, with documented defaults."""

from __future__ import annotations

from policy_stacks import LABELS, find
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
)

from policies.governance import required_labels


def _env(stack: list[dict], function: str) -> dict:
    return find(stack, function)["serviceConfig"]["environmentVariables"]


def test_a_public_endpoint_passes_when_the_config_allows_it(stack, violations) -> None:
    """allowPublicEndpoint=true lets the index endpoint be public."""
    find(stack, "chunks-endpoint")["publicEndpointEnabled"] = True

    assert (
        violations("vector-endpoint-private", stack, {"allowPublicEndpoint": True})
        == []
    )
    assert violations(
        "vector-endpoint-private", stack, {"allowPublicEndpoint": "false"}
    )


def test_cmek_is_checked_only_when_the_stack_requires_it(stack, violations) -> None:
    """A dataset without a KMS key passes unless cmekRequired is set."""
    find(stack, "monitoring")["defaultEncryptionConfiguration"] = None

    assert violations("governance-cmek", stack, {}) == []
    assert violations("governance-cmek", stack, {"cmekRequired": True})


def test_dimension_follows_the_configured_model(stack, violations) -> None:
    """With embeddingModel set, the index and the functions must match its size."""
    found = violations(
        "vector-index-dimension", stack, {"embeddingModel": "gemini-embedding-001"}
    )

    assert {v["name"] for v in found} == {
        "chunks-index",
        "ingest-finalize",
        "ingest-delete",
    }
    assert all("3072" in v["message"] for v in found)


def test_dimension_follows_the_functions_environment(stack, violations) -> None:
    """Without config, the functions' LLMOPS_EMBEDDING_DIMENSIONS is the truth."""
    for name in ("ingest-finalize", "ingest-delete"):
        _env(stack, name)["LLMOPS_EMBEDDING_DIMENSIONS"] = "384"
        _env(stack, name)["LLMOPS_EMBEDDING_MODEL"] = "all-MiniLM-L6-v2"

    found = violations("vector-index-dimension", stack, {})

    assert [v["name"] for v in found] == ["chunks-index"]
    assert "LLMOPS_EMBEDDING_DIMENSIONS=384" in found[0]["message"]


def test_an_unknown_configured_model_is_reported(stack, violations) -> None:
    """A misspelt embeddingModel is a violation naming the known models."""
    [found] = violations("vector-index-dimension", stack, {"embeddingModel": "ada"})

    assert "text-embedding-005" in found["message"]


def test_redaction_follows_the_stricter_classification(stack, violations) -> None:
    """A function saying 'restricted' needs redaction even on an internal stack."""
    env = _env(stack, "ingest-finalize")
    env["LLMOPS_PII_REDACTION"] = "false"
    env["LLMOPS_DATA_CLASSIFICATION"] = "internal"

    assert violations("governance-pii-redaction", stack, {}) == []
    assert violations(
        "governance-pii-redaction", stack, {"dataClassification": "restricted"}
    )
    env["LLMOPS_DATA_CLASSIFICATION"] = "restricted"
    assert violations("governance-pii-redaction", stack, {})


def test_an_unknown_classification_is_reported(stack, violations) -> None:
    """A function given a classification outside the known four is flagged."""
    _env(stack, "ingest-delete")["LLMOPS_DATA_CLASSIFICATION"] = "secret"

    [found] = violations("governance-pii-redaction", stack, {})

    assert found["name"] == "ingest-delete" and "'secret'" in found["message"]


def test_deletion_protection_applies_to_protected_environments(
    stack, violations
) -> None:
    """A destroyable table is fine in dev and a violation when the stack is prod."""
    table = find(stack, "interactions")
    table["deletionProtection"] = False
    table["labels"]["environment"] = "dev"

    assert violations("governance-prod-deletion-protection", stack, {}) == []
    assert violations(
        "governance-prod-deletion-protection", stack, {"environment": "prod"}
    )


def test_regions_and_limits_come_from_the_config(stack, violations) -> None:
    """allowedRegions and maxInstances replace their defaults when set."""
    only_eu = {"allowedRegions": ["eu", "europe-west4"]}
    found = violations("governance-allowed-regions", stack, only_eu)

    assert "ingest-finalize" in {v["name"] for v in found}
    assert violations("functions-max-instances", stack, {"maxInstances": 4})
    assert violations("functions-max-instances", stack, {}) == []


def test_required_labels_come_from_the_config(stack, violations) -> None:
    """A stack may require its own label set, such as a data owner."""
    found = violations(
        "governance-required-labels", stack, {"requiredLabels": ["owner"]}
    )

    assert found and all("owner" in v["message"] for v in found)


def test_provider_default_labels_count(stack) -> None:
    """Labels set once on the provider satisfy the rule for each resource."""
    reported: list[str] = []
    args = ResourceValidationArgs(
        "gcp:storage/bucket:Bucket",
        {"labels": {"team": "platform"}},
        "urn:pulumi:prod::llmops::gcp:storage/bucket:Bucket::docs",
        "docs",
        PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
        PolicyProviderResource(
            "pulumi:providers:gcp",
            {"defaultLabels": {k: v for k, v in LABELS.items() if k != "team"}},
            "urn:pulumi:prod::llmops::pulumi:providers:gcp::default",
            "default",
        ),
    )

    required_labels.validate(args, lambda message, urn=None: reported.append(message))
    assert reported == []

    args.props["labels"] = {}
    required_labels.validate(args, lambda message, urn=None: reported.append(message))
    assert len(reported) == 1 and "team" in reported[0]


def test_prompt_registry_is_found_by_the_configured_match(stack, violations) -> None:
    """promptRegistryMatch chooses which bucket must be versioned."""
    find(stack, "docs")["versioning"] = None

    assert violations("storage-prompt-registry-versioning", stack, {}) == []
    found = violations(
        "storage-prompt-registry-versioning", stack, {"promptRegistryMatch": "docs"}
    )
    assert {v["name"] for v in found} == {"docs"}
