"""The offline evaluator: verdicts for every rule, config forms, the CLI."""

from __future__ import annotations

import json

import pytest
from policy_stacks import STACK_CONFIG, compliant_stack, find, resource

from llmops.errors import ConfigError, InputError
from policies import config as pack_settings
from policies.evaluate import (
    evaluate,
    main,
    mandatory_violations,
    pack_config,
    render,
    stack_policy_config,
    stack_resources,
)
from policies.pack import ALL


def _broken_stack() -> list[dict]:
    """A public bucket, a content table kept forever and an owner grant."""
    stack = compliant_stack()
    stack.append(
        resource(
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            "docs-public",
            bucket="docs",
            role="roles/storage.objectViewer",
            member="allUsers",
        )
    )
    find(stack, "monitoring")["defaultPartitionExpirationMs"] = None
    stack.append(
        resource(
            "gcp:projects/iAMMember:IAMMember",
            "ops-owner",
            project="p",
            role="roles/owner",
            member="user:ops@example.com",
        )
    )
    return stack


def test_evaluate_returns_every_rule_in_pack_order() -> None:
    """Each rule gets a verdict with its name, level, reason and violations."""
    verdicts = evaluate(compliant_stack(), STACK_CONFIG)

    assert [v["name"] for v in verdicts] == [rule.name for rule in ALL]
    for verdict in verdicts:
        assert verdict["enforcement"] in ("mandatory", "advisory")
        assert verdict["description"] and verdict["remediation"]
        assert verdict["violations"] == []
    assert mandatory_violations(verdicts) == 0


def test_three_faults_give_three_mandatory_violations() -> None:
    """A public bucket, a missing retention and an owner role are each reported."""
    verdicts = evaluate(_broken_stack(), STACK_CONFIG)

    failed = {v["name"]: v["violations"] for v in verdicts if v["violations"]}
    assert sorted(failed) == [
        "iam-no-primitive-roles",
        "monitoring-content-retention",
        "storage-no-public-buckets",
    ]
    assert mandatory_violations(verdicts) == 3
    assert failed["storage-no-public-buckets"][0]["name"] == "docs-public"
    assert failed["monitoring-content-retention"][0]["name"] == "interactions"
    assert failed["iam-no-primitive-roles"][0]["urn"].endswith("::ops-owner")


def test_a_rule_can_be_disabled_or_made_advisory() -> None:
    """Per-rule and 'all' enforcement levels change the verdicts' levels."""
    stack = _broken_stack()

    disabled = evaluate(stack, {**STACK_CONFIG, "iam-no-primitive-roles": "disabled"})
    relaxed = evaluate(stack, {**STACK_CONFIG, "all": "advisory"})

    by_name = {v["name"]: v for v in disabled}
    assert by_name["iam-no-primitive-roles"]["enforcement"] == "disabled"
    assert by_name["iam-no-primitive-roles"]["violations"] == []
    assert mandatory_violations(disabled) == 2
    assert mandatory_violations(relaxed) == 0
    assert sum(len(v["violations"]) for v in relaxed) == 3


def test_rule_settings_override_shared_settings() -> None:
    """A rule's own setting wins over the same key given for every rule."""
    stack = compliant_stack()
    find(stack, "feedback")["timePartitioning"]["expirationMs"] = float(60 * 86_400_000)

    shared = evaluate(stack, {"maxRetentionDays": 30})
    own = evaluate(
        stack,
        {
            "maxRetentionDays": 30,
            "monitoring-content-retention": {"maxRetentionDays": 90},
        },
    )

    def retention(verdicts: list[dict]) -> list[str]:
        [verdict] = [v for v in verdicts if v["name"] == "monitoring-content-retention"]
        return [violation["name"] for violation in verdict["violations"]]

    assert retention(shared) == ["interactions", "feedback"]
    assert retention(own) == []


@pytest.mark.parametrize(
    "config, fragment",
    [
        ({"allowedRegion": ["eu"]}, "'allowedRegion' is neither a rule"),
        ({"all": "strict"}, "enforcement level 'strict'"),
        ({"storage-uniform-access": {"maxRetentionDays": 3}}, "does not read"),
        ({"monitoring-content-retention": {"retentionDays": 3}}, "retentionDays"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(config: dict, fragment: str) -> None:
    """Unknown keys, levels and misplaced settings raise ConfigError saying which."""
    with pytest.raises(ConfigError, match=fragment):
        evaluate(compliant_stack(), config)


def test_a_resource_without_type_is_refused() -> None:
    """A captured entry lacking its type raises InputError naming its position."""
    with pytest.raises(InputError, match="#1 lacks type"):
        evaluate([compliant_stack()[0], {"name": "x", "inputs": {}}])


def test_pack_config_fans_shared_settings_out_per_rule() -> None:
    """Shared settings are copied to each rule that reads them, Pulumi's form."""
    config = pack_config({"allowedRegions": ["europe-west4"], "all": "mandatory"})

    assert config["all"] == "mandatory"
    assert config["governance-allowed-regions"] == {"allowedRegions": ["europe-west4"]}
    assert "storage-uniform-access" not in config


def test_dependencies_and_parents_resolve_by_urn_or_name() -> None:
    """Dependencies given by name or URN become the engine's resource links."""
    stack = compliant_stack()
    for entry in stack:
        if entry["name"] == "interactions":
            entry["dependencies"] = ["monitoring"]
            entry["parent"] = find_urn(stack, "monitoring")

    built = {r.name: r for r in stack_resources(stack)}

    assert [d.name for d in built["interactions"].dependencies] == ["monitoring"]
    assert built["interactions"].parent is built["monitoring"]


def find_urn(stack: list[dict], name: str) -> str:
    """The URN of the named resource."""
    return next(entry["urn"] for entry in stack if entry["name"] == name)


def test_retention_finds_the_dataset_through_a_dependency() -> None:
    """A table with no dataset id still inherits its dataset's expiration."""
    stack = compliant_stack()
    table = next(entry for entry in stack if entry["name"] == "interactions")
    table["inputs"]["datasetId"] = None
    table["dependencies"] = [find_urn(stack, "monitoring")]

    verdicts = evaluate(stack, STACK_CONFIG)

    assert mandatory_violations(verdicts) == 0


def test_render_lists_each_rule_and_each_fix() -> None:
    """The text report says passed per rule, or the violation with its fix."""
    text = render(evaluate(_broken_stack(), STACK_CONFIG))

    assert "storage-uniform-access [mandatory]: passed" in text
    assert "iam-no-primitive-roles [mandatory]: 1 violation(s)" in text
    assert "'ops-owner'" in text and "Fix: grant the predefined roles" in text
    assert text.endswith(f"{len(ALL)} rules, 3 mandatory violation(s)")


def test_cli_exits_non_zero_on_a_mandatory_violation(tmp_path, capsys) -> None:
    """``python -m policies.evaluate PLAN CONFIG`` fails a broken plan only."""
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"resources": _broken_stack()}))
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"resources": compliant_stack()}))
    settings = tmp_path / "config.json"
    settings.write_text(json.dumps(STACK_CONFIG))

    assert main([str(broken), str(settings)]) == 1
    assert "3 mandatory violation(s)" in capsys.readouterr().out
    assert main([str(clean), str(settings)]) == 0


def test_settings_cli_prints_pulumi_policy_config(tmp_path, capsys) -> None:
    """``python -m policies.config`` turns flat settings into per-rule config."""
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"cmekRequired": True}))

    assert pack_settings.main([str(settings)]) == 0

    assert json.loads(capsys.readouterr().out) == {
        "governance-cmek": {"cmekRequired": True}
    }


def test_stack_file_settings_become_policy_config() -> None:
    """A stack's environment, model and classification feed the pack's settings."""
    stack_config = {
        "gcp:region": "europe-west4",
        "llmops:environment": "prod",
        "llmops:embeddingModel": "gemini-embedding-001",
        "llmops:embeddingDimensions": "3072",
        "llmops:dataClassification": "confidential",
        "llmops:indexEndpointPublic": "true",
        "llmops:policy": '{"allowedRegions": ["europe-west4"]}',
    }

    assert stack_policy_config(stack_config) == {
        "environment": "prod",
        "embeddingModel": "gemini-embedding-001",
        "embeddingDimensions": "3072",
        "dataClassification": "confidential",
        "allowedRegions": ["europe-west4"],
    }


def test_a_bad_stack_policy_object_is_refused() -> None:
    """A policy override that is not an object, or names no setting, fails."""
    with pytest.raises(ConfigError, match="llmops:policy must be"):
        stack_policy_config({"llmops:policy": "[1, 2"})
    with pytest.raises(ConfigError, match="'allowedRegion'"):
        stack_policy_config({"llmops:policy": {"allowedRegion": ["eu"]}})


def test_iam_grants_are_not_checked_for_region(stack, violations) -> None:
    """A grant's location repeats its resource's, so only the resource is flagged."""
    stack.append(
        resource(
            "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
            "templates-reader",
            location="asia-east2",
            repository="templates",
            role="roles/artifactregistry.reader",
            member="group:ml@example.com",
        )
    )
    find(stack, "templates")["location"] = "asia-east2"

    found = violations("governance-allowed-regions", stack)

    assert [v["name"] for v in found] == ["templates"]
