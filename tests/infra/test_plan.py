"""The offline plan: every part of the platform, deterministic, as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from infra import catalog
from infra.config import StackConfigError
from llmops import contract, plan, targets
from llmops.cli.plan import command
from llmops.errors import ConfigError
from llmops.settings import Settings

COMPONENTS = {
    catalog.TYPE_APIS,
    catalog.TYPE_VECTOR_SEARCH,
    catalog.TYPE_MONITORING,
    catalog.TYPE_INGESTION,
    catalog.TYPE_PROMPT_REGISTRY,
    catalog.TYPE_PIPELINE_TEMPLATES,
    catalog.TYPE_USE_CASE,
}
PARTS = {
    "gcp:projects/service:Service",
    "gcp:projects/serviceIdentity:ServiceIdentity",
    "gcp:vertex/aiIndex:AiIndex",
    "gcp:vertex/aiIndexEndpoint:AiIndexEndpoint",
    "gcp:vertex/aiIndexEndpointDeployedIndex:AiIndexEndpointDeployedIndex",
    "gcp:bigquery/dataset:Dataset",
    "gcp:bigquery/table:Table",
    "gcp:storage/bucket:Bucket",
    "gcp:storage/bucketObject:BucketObject",
    "gcp:cloudfunctionsv2/function:Function",
    "gcp:artifactregistry/repository:Repository",
    "gcp:serviceaccount/account:Account",
}


def test_dev_plan_lists_every_part_of_the_platform(project_copy: Path) -> None:
    """The example dev stack declares each component and each kind of resource,
    with every child parented by a component."""
    captured = plan.capture(project_copy / "Pulumi.dev.yaml")
    types = {r.type for r in captured.resources}
    assert types >= COMPONENTS
    assert types >= PARTS
    assert len(captured.of_type("gcp:cloudfunctionsv2/function:Function")) == 2
    assert len(captured.of_type(catalog.TYPE_USE_CASE)) == 2
    for resource in captured.resources:
        assert (resource.parent is None) == (not resource.custom), resource.name


def test_outputs_hold_every_contract_name_and_each_use_case(project_copy: Path) -> None:
    """The stack exports every OUTPUT_* of the contract, plus per-use-case
    accounts and restrict values, the template repository and pipeline account."""
    outputs = plan.capture(project_copy / "Pulumi.dev.yaml").outputs
    names = [getattr(contract, n) for n in dir(contract) if n.startswith("OUTPUT_")]
    assert set(names) <= set(outputs)
    assert outputs[contract.OUTPUT_EMBEDDING_DIMENSIONS] == 768
    assert outputs[contract.OUTPUT_VECTOR_INDEX].startswith("projects/acme-llmops-dev/")
    support = outputs["useCases"]["support"]
    assert support["restrictNamespace"] == contract.RESTRICT_USE_CASE
    assert support["restrictValue"] == "support"
    assert support["serviceAccount"].startswith("llmops-uc-support@")
    assert outputs["templateRepositoryUrl"].endswith(
        "-kfp.pkg.dev/acme-llmops-dev/llmops-templates"
    )
    assert outputs["pipelineServiceAccount"].endswith(".iam.gserviceaccount.com")


def test_the_same_stack_gives_byte_identical_plans(project_copy: Path) -> None:
    """Capturing twice gives the same JSON and the same text."""
    first = plan.capture(project_copy / "Pulumi.dev.yaml")
    second = plan.capture(project_copy / "Pulumi.dev.yaml")
    assert first.dumps() == second.dumps()
    assert first.render() == second.render()


def test_json_resources_hold_type_name_inputs_and_dependencies(
    project_copy: Path,
) -> None:
    """Each JSON resource has camelCase inputs and dependencies that are URNs of
    other resources in the plan."""
    doc = json.loads(plan.capture(project_copy / "Pulumi.prod.yaml").dumps())
    urns = {r["urn"] for r in doc["resources"]} | {c["urn"] for c in doc["components"]}
    for resource in doc["resources"]:
        assert {"type", "name", "inputs", "dependencies"} <= set(resource)
        assert set(resource["dependencies"]) <= urns
        assert "::pulumi:pulumi:Stack$" not in resource["urn"]
    (index,) = [
        r for r in doc["resources"] if r["type"] == "gcp:vertex/aiIndex:AiIndex"
    ]
    assert index["inputs"]["indexUpdateMethod"] == "STREAM_UPDATE"
    assert index["protect"] is True


def test_cli_prints_the_same_bytes_twice_in_both_formats(project_copy: Path) -> None:
    """`llmops plan --stack FILE [--json]` succeeds and is deterministic."""
    runner = CliRunner()
    stack = str(project_copy / "Pulumi.dev.yaml")
    for extra in ([], ["--json"]):
        first = runner.invoke(command, ["--stack", stack, *extra])
        second = runner.invoke(command, ["--stack", stack, *extra])
        assert first.exit_code == 0, first.output
        assert first.output == second.output
    text = runner.invoke(command, ["--stack", stack]).output
    assert "gcp:vertex/aiIndex:AiIndex  vector-search-index" in text
    assert "depends on:" in text


def test_a_stack_file_with_a_mismatched_trigger_region_fails_clearly(
    project_copy: Path,
) -> None:
    """A stack file whose trigger region is not the docs bucket's location stops
    the program before any resource, with the key and the fixing command."""
    stack = project_copy / "Pulumi.broken.yaml"
    text = (project_copy / "Pulumi.dev.yaml").read_text()
    stack.write_text(text + "  llmops:triggerRegion: europe-west1\n")
    with pytest.raises(StackConfigError) as raised:
        plan.capture(stack)
    message = str(raised.value)
    assert "llmops:triggerRegion: 'europe-west1' does not match" in message
    assert "`pulumi config set llmops:triggerRegion" in message


def test_saved_outputs_target_the_stack_the_functions_run_in(
    project_copy: Path, tmp_path: Path
) -> None:
    """`pulumi stack output --json` saved to a file gives the CLI the same
    settings as the deployed functions' environment."""
    captured = plan.capture(project_copy / "Pulumi.dev.yaml")
    saved = tmp_path / "dev-outputs.json"
    saved.write_text(json.dumps(captured.outputs))
    cli_settings = targets.cloud_target(saved).settings()
    (function, *_) = captured.of_type("gcp:cloudfunctionsv2/function:Function")
    env = function.inputs["serviceConfig"]["environmentVariables"]
    function_settings = Settings.from_env(env)
    for field in (
        "project",
        "location",
        "docs_bucket",
        "chunks_bucket",
        "dataset",
        "vector_index",
        "index_endpoint",
        "deployed_index_id",
        "embedding_model",
        "embedding_dimensions",
    ):
        assert getattr(cli_settings, field) == getattr(function_settings, field), field


def test_secrets_and_misnamed_stack_files_are_refused(project_copy: Path) -> None:
    """The plan cannot decrypt secrets and needs Pulumi's stack file name."""
    secret = project_copy / "Pulumi.secret.yaml"
    secret.write_text("config:\n  llmops:labels:\n    secure: AAAA\n")
    with pytest.raises(ConfigError, match="secret"):
        plan.capture(secret)
    odd = project_copy / "dev.yaml"
    odd.write_text("config: {}\n")
    with pytest.raises(ConfigError, match=r"Pulumi\.<stack>\.yaml"):
        plan.capture(odd)


def test_an_unreadable_project_file_is_reported_with_its_line(
    project_copy: Path,
) -> None:
    """A Pulumi.yaml with an unquoted ': ' in a value fails with its line number."""
    (project_copy / "Pulumi.yaml").write_text(
        "name: llmops-platform\ndescription: one: two\nmain: infra/\n"
    )
    with pytest.raises(ConfigError, match=r"Pulumi\.yaml line 2: .*quote"):
        plan.capture(project_copy / "Pulumi.dev.yaml")
