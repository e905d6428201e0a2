"""The policy pack's acceptance, through stack files and the real `llmops` CLI.

The stack configuration accepts well-formed but unsafe choices (a public
principal, no retention, a primitive role) and leaves judging them to the
policy pack, so one source of truth decides what is unsafe.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from llmops.cli import cli
from policies.pack import ALL

STACKS = Path(__file__).parent / "stacks"
# What Pulumi.unsafe.yaml gets wrong, by the rule that must report it.
UNSAFE_RULES = {
    "storage-no-public-buckets",
    "monitoring-content-retention",
    "iam-no-primitive-roles",
}


def _plan_json(stack: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["plan", "--stack", str(stack), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output
    )
    return result.exit_code, json.loads(result.output)


def _violated(document: dict[str, Any], enforcement: str) -> set[str]:
    return {
        verdict["name"]
        for verdict in document["policies"]
        if verdict["enforcement"] == enforcement and verdict["violations"]
    }


@pytest.fixture
def unsafe_stack(project_copy: Path) -> Path:
    """The unsafe stack file two folders below the project's Pulumi.yaml, where
    the plan must find the project by looking in parent folders."""
    folder = project_copy / "tests" / "infra" / "stacks"
    folder.mkdir(parents=True)
    return Path(shutil.copy(STACKS / "Pulumi.unsafe.yaml", folder))


def test_the_unsafe_stack_violates_exactly_its_three_mandatory_rules(
    unsafe_stack: Path,
) -> None:
    """A public docs uploader, content kept forever and an owner grant give
    three violated mandatory rules, no other, and exit code 1."""
    code, document = _plan_json(unsafe_stack)
    assert code == 1
    assert _violated(document, "mandatory") == UNSAFE_RULES
    by_rule = {v["name"]: v["violations"] for v in document["policies"]}
    (public,) = by_rule["storage-no-public-buckets"]
    assert "allUsers" in public["message"]
    (owner,) = by_rule["iam-no-primitive-roles"]
    assert "roles/owner" in owner["message"]
    assert "user:someone@example.com" in owner["message"]
    kept = {v["name"] for v in by_rule["monitoring-content-retention"]}
    assert kept == {"monitoring-interactions", "monitoring-feedback"}


def test_the_unsafe_stack_declares_what_it_asks_for(unsafe_stack: Path) -> None:
    """The plan holds the public grant, the owner grant and content tables
    without expiration, in a dataset without a default that they would take."""
    _, document = _plan_json(unsafe_stack)
    resources = {r["name"]: r for r in document["resources"]}
    assert resources["ingestion-uploader-allusers"]["inputs"]["member"] == "allUsers"
    owner = resources["project-roles-owner-user-someone-example-com"]
    assert owner["type"] == "gcp:projects/iAMMember:IAMMember"
    assert owner["inputs"]["role"] == "roles/owner"
    for table in ("monitoring-interactions", "monitoring-feedback"):
        assert "expirationMs" not in resources[table]["inputs"]["timePartitioning"]
    dataset = resources["monitoring-dataset"]["inputs"]
    assert "defaultPartitionExpirationMs" not in dataset
    events = resources["monitoring-ingestion-events"]["inputs"]
    assert events["timePartitioning"]["expirationMs"] == 30 * 86_400_000


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_example_stacks_pass_and_list_every_rule(
    project_copy: Path, name: str
) -> None:
    """Both example stacks give no mandatory violation, exit 0, and list every
    rule of the pack by name."""
    code, document = _plan_json(project_copy / f"Pulumi.{name}.yaml")
    assert code == 0
    assert _violated(document, "mandatory") == set()
    assert [v["name"] for v in document["policies"]] == [rule.name for rule in ALL]


def test_the_text_plan_of_the_unsafe_stack_names_each_rule_and_fails(
    unsafe_stack: Path,
) -> None:
    """Without --json the plan prints each violated rule and the total, and
    still exits 1."""
    result = CliRunner().invoke(cli, ["plan", "--stack", str(unsafe_stack)])
    assert result.exit_code == 1
    for rule in UNSAFE_RULES:
        assert f"{rule} [mandatory]: " in result.output
        assert f"{rule} [mandatory]: passed" not in result.output
    assert f"{len(ALL)} rules, 4 mandatory violation(s)" in result.output


def test_a_stack_with_every_option_on_still_passes(project_copy: Path) -> None:
    """DLP redaction, the tuning schedule and a predefined project role add
    resources that break no mandatory rule."""
    stack = project_copy / "Pulumi.options.yaml"
    stack.write_text(
        (project_copy / "Pulumi.dev.yaml").read_text()
        + "  llmops:piiRedaction: true\n"
        + "  llmops:tuningSchedule: 0 3 * * 1\n"
        + "  llmops:projectRoles:\n"
        + "    roles/aiplatform.user:\n"
        + "      - group:operators@example.com\n"
    )
    code, document = _plan_json(stack)
    assert code == 0, _violated(document, "mandatory")
    types = {r["type"] for r in document["resources"]}
    assert {
        "gcp:cloudscheduler/job:Job",
        "gcp:dataloss/preventionInspectTemplate:PreventionInspectTemplate",
        "gcp:dataloss/preventionDeidentifyTemplate:PreventionDeidentifyTemplate",
    } <= types
    assert _violated(document, "advisory") == set()
