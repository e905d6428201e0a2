"""Every template compiles, takes the documented parameters and runs as described."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import pipeline_templates
from llmops.pipelines.parameters import PIPELINE_NAME
from pipeline_templates.components import LOCATION_PLACEHOLDER, PROJECT_PLACEHOLDER

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pipelines.md"
IMAGE = "europe-west4-docker.pkg.dev/demo/llmops/llmops-python-runtime:0.1.0"
TYPES = {
    "string": "STRING",
    "integer": "NUMBER_INTEGER",
    "float": "NUMBER_DOUBLE",
    "boolean": "BOOLEAN",
    "dict": "STRUCT",
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every template compiled with the pinned kfp, as parsed YAML."""
    out = tmp_path_factory.mktemp("compiled")
    paths = pipeline_templates.compile_all(out, IMAGE)
    return {path.stem: yaml.safe_load(path.read_text()) for path in paths}


def _documented(name: str) -> dict[str, tuple[str, Any]]:
    # The table under "### Parameters: NAME": parameter -> (type, default).
    text = DOCS.read_text()
    section = text.split(f"### Parameters: {name}\n", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        default = cells[2]
        if default == "(required)":
            value: Any = None
        else:
            raw = default.strip("`")
            if raw.startswith("{{"):
                value = raw
            elif raw == '""':
                value = ""
            else:
                value = yaml.safe_load(raw)
        rows[cells[0].strip("`")] = (cells[1], value)
    return rows


def test_every_template_compiles_to_a_vertex_pipeline(
    compiled: dict[str, dict[str, Any]],
) -> None:
    """Each template compiles; its pipeline name follows Vertex's pattern."""
    assert set(compiled) == set(pipeline_templates.TEMPLATES)
    for name, spec in compiled.items():
        module = pipeline_templates.template(name)
        assert spec["pipelineInfo"]["name"] == module.PIPELINE_NAME
        assert PIPELINE_NAME.match(spec["pipelineInfo"]["name"])
        assert spec["sdkVersion"].startswith("kfp-2.")


@pytest.mark.parametrize("name", sorted(pipeline_templates.TEMPLATES))
def test_parameters_and_defaults_are_the_documented_ones(
    compiled: dict[str, dict[str, Any]], name: str
) -> None:
    """The docs' table lists exactly the parameters, types and defaults."""
    actual = compiled[name]["root"]["inputDefinitions"]["parameters"]
    documented = _documented(name)

    assert set(documented) == set(actual)
    for parameter, (kind, default) in documented.items():
        spec = actual[parameter]
        assert spec["parameterType"] == TYPES[kind], parameter
        if default is None:
            assert "defaultValue" not in spec, parameter
        else:
            assert spec["defaultValue"] == default, parameter


@pytest.mark.parametrize("name", sorted(pipeline_templates.TEMPLATES))
def test_project_and_location_come_from_runtime_placeholders(
    compiled: dict[str, dict[str, Any]], name: str
) -> None:
    """No project or region is baked into a compiled template."""
    parameters = compiled[name]["root"]["inputDefinitions"]["parameters"]

    assert parameters["project"]["defaultValue"] == PROJECT_PLACEHOLDER
    assert parameters["location"]["defaultValue"] == LOCATION_PLACEHOLDER


def _tasks(spec: dict[str, Any], dag: dict[str, Any]) -> list[tuple[str, list[str]]]:
    # (display name, display names of upstream tasks), through condition groups.
    found = []
    names = {key: task["taskInfo"]["name"] for key, task in dag["tasks"].items()}
    for key, task in dag["tasks"].items():
        ref = task["componentRef"]["name"]
        inner = spec["components"][ref].get("dag")
        if key.startswith("condition"):
            found += _tasks(spec, inner)
            continue
        found.append((names[key], [names[d] for d in task.get("dependentTasks", [])]))
    return found


@pytest.mark.parametrize("name", sorted(pipeline_templates.TEMPLATES))
def test_validation_is_the_first_task(
    compiled: dict[str, dict[str, Any]], name: str
) -> None:
    """The validate task has no upstream task and everything else runs after it."""
    root = compiled[name]["root"]["dag"]["tasks"]
    first = [key for key, task in root.items() if not task.get("dependentTasks")]

    assert len(first) == 1
    assert first[0].startswith("validate-")


@pytest.mark.parametrize("name", sorted(pipeline_templates.TEMPLATES))
def test_the_docstring_lists_the_steps_in_dag_order(
    compiled: dict[str, dict[str, Any]], name: str
) -> None:
    """Every task is named in the pipeline docstring, after its upstream tasks."""
    doc = pipeline_templates.template(name).pipeline(IMAGE).pipeline_func.__doc__
    spec = compiled[name]

    for task, upstream in _tasks(spec, spec["root"]["dag"]):
        if spec["components"].get(f"comp-{task}", {}).get("dag"):
            continue
        assert task in doc, task
        for before in upstream:
            if before.startswith("condition"):
                continue
            assert doc.index(before) < doc.index(task), (before, task)


def test_components_run_on_the_given_image_without_installing_kfp(
    compiled: dict[str, dict[str, Any]],
) -> None:
    """The platform's components run on the runtime image and pip-install nothing."""
    executors = compiled["evaluation"]["deploymentSpec"]["executors"]

    assert executors
    for executor in executors.values():
        container = executor["container"]
        assert container["image"] == IMAGE
        assert "pip install" not in " ".join(container.get("command", []))


def test_rlhf_branch_uses_the_gcpc_pipeline(
    compiled: dict[str, dict[str, Any]],
) -> None:
    """The preference template tunes open models with GCPC's RLHF pipeline."""
    names = " ".join(compiled["preference-tuning"]["components"])

    assert "comp-rlhf-preprocessor" in names
    assert "comp-reward-model-trainer" in names
    assert "comp-tune-gemini" in names


@pytest.mark.parametrize("name", sorted(pipeline_templates.TEMPLATES))
def test_local_pipelines_compile_and_skip_only_managed_steps(name: str) -> None:
    """The local variant has no tuning task; what it leaves out is declared."""
    module = pipeline_templates.template(name)
    spec = module.local_pipeline(IMAGE).pipeline_spec
    tasks = set(spec.root.dag.tasks)

    assert not any(re.match(r"tune|rlhf", task) for task in tasks)
    assert {"prepare-data", "evaluate-model"} <= tasks
    assert isinstance(module.MANAGED_STEPS, tuple)
    assert bool(module.MANAGED_STEPS) == (name != "evaluation")


def test_an_unknown_template_is_refused_with_the_known_names() -> None:
    """Asking for a template that does not exist names those that do."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match="preference-tuning"):
        pipeline_templates.template("rlhf")


@pytest.mark.parametrize(
    ("name", "checked"),
    [
        (
            "preference-tuning",
            {"template_version", "embedding_backend", "min_score_gap"},
        ),
        (
            "supervised-tuning",
            {"template_version", "embedding_backend", "min_accepted_score"},
        ),
        ("evaluation", {"eval_dataset_uri"}),
    ],
)
def test_the_first_task_checks_the_pipelines_own_values(
    compiled: dict[str, dict[str, Any]], name: str, checked: set[str]
) -> None:
    """validate-* gets these parameters from the run, not the component defaults."""
    tasks = compiled[name]["root"]["dag"]["tasks"]
    (validate,) = (task for key, task in tasks.items() if key.startswith("validate-"))
    given = validate["inputs"]["parameters"]

    for parameter in checked:
        assert given[parameter] == {"componentInputParameter": parameter}, parameter
