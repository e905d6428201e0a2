"""``llmops pipelines``: compile, and submit against a recording PipelineJob."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from click.testing import CliRunner

from llmops import contract
from llmops.cli import pipelines as cli

IMAGE = "europe-west4-docker.pkg.dev/demo/llmops/llmops-python-runtime:0.1.0"
REGION_PATH = "projects/1/locations/europe-west4"
ACCOUNT = "pipelines@acme-llmops.iam.gserviceaccount.com"
REPOSITORY = "https://europe-west4-kfp.pkg.dev/acme-llmops/llmops-templates"


class RecordingPipelineJob:
    """Stands in for aiplatform.PipelineJob; records what would be sent."""

    created: ClassVar[list[RecordingPipelineJob]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.job_id = kwargs["job_id"]
        self.submitted: dict[str, Any] | None = None
        self.waited = False
        template = kwargs["template_path"]
        # A compiled template is read now: it lives in a temporary folder.
        self.template = (
            yaml.safe_load(Path(template).read_text())
            if not template.startswith("https://")
            else None
        )
        RecordingPipelineJob.created.append(self)

    def submit(self, *, service_account: str) -> None:
        self.submitted = {"service_account": service_account}

    def wait(self) -> None:
        self.waited = True


@pytest.fixture
def recording_jobs(monkeypatch: pytest.MonkeyPatch) -> list[RecordingPipelineJob]:
    """Replace PipelineJob with the recorder for one test."""
    from google.cloud import aiplatform

    RecordingPipelineJob.created = []
    monkeypatch.setattr(aiplatform, "PipelineJob", RecordingPipelineJob)
    return RecordingPipelineJob.created


@pytest.fixture
def stack_outputs(tmp_path: Path) -> Path:
    """A saved `pulumi stack output --json` of a stack."""
    outputs = {
        contract.OUTPUT_PROJECT: "acme-llmops",
        contract.OUTPUT_REGION: "europe-west4",
        contract.OUTPUT_DOCS_BUCKET: "acme-docs",
        contract.OUTPUT_CHUNKS_BUCKET: "acme-chunks",
        contract.OUTPUT_PROMPTS_BUCKET: "acme-prompts",
        contract.OUTPUT_PIPELINE_ROOT: "gs://acme-pipelines/runs",
        contract.OUTPUT_DATASET: "llmops_prod",
        contract.OUTPUT_VECTOR_INDEX: f"{REGION_PATH}/indexes/2",
        contract.OUTPUT_INDEX_ENDPOINT: f"{REGION_PATH}/indexEndpoints/3",
        contract.OUTPUT_DEPLOYED_INDEX_ID: "llmops_chunks",
        contract.OUTPUT_EMBEDDING_MODEL: "text-embedding-005",
        contract.OUTPUT_EMBEDDING_DIMENSIONS: 768,
        cli.OUTPUT_PIPELINE_SERVICE_ACCOUNT: ACCOUNT,
        cli.OUTPUT_TEMPLATE_REPOSITORY_URL: REPOSITORY,
    }
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(outputs))
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli.command, list(args), catch_exceptions=False)


def test_compile_writes_every_template(tmp_path: Path) -> None:
    """`compile` writes one YAML per template, on the given image."""
    result = _run("compile", "--output-dir", str(tmp_path), "--image", IMAGE)

    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert written == [
        "evaluation.yaml",
        "preference-tuning.yaml",
        "supervised-tuning.yaml",
    ]
    spec = yaml.safe_load((tmp_path / "evaluation.yaml").read_text())
    images = {
        e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()
    }
    assert images == {IMAGE}


def test_submit_uses_the_stacks_root_account_and_dataset(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """The job gets the stack's pipeline root, service account, dataset, region."""
    result = _run(
        "submit",
        "preference-tuning",
        "--stack-outputs",
        str(stack_outputs),
        "--use-case",
        "support",
        "--param",
        "tuner=rlhf",
        "--param",
        "min_new_examples=50",
        "--param",
        "deploy=true",
        "--label",
        "team=care",
        "--image",
        IMAGE,
        "--job-id",
        "pref-run-1",
    )

    assert result.exit_code == 0, result.output
    (job,) = recording_jobs
    kwargs = job.kwargs
    assert kwargs["pipeline_root"] == "gs://acme-pipelines/runs"
    assert kwargs["project"] == "acme-llmops"
    assert kwargs["location"] == "europe-west4"
    assert kwargs["job_id"] == "pref-run-1"
    assert kwargs["parameter_values"] == {
        "tuner": "rlhf",
        "min_new_examples": 50,
        "deploy": True,
        "use_case": "support",
        "dataset": "llmops_prod",
    }
    assert kwargs["labels"] == {
        "platform": "llmops",
        "managed-by": "llmops-cli",
        "pipeline": "preference-tuning",
        "use-case": "support",
        "team": "care",
    }
    assert job.submitted == {"service_account": ACCOUNT}
    assert job.template["pipelineInfo"]["name"] == "llmops-preference-tuning"
    assert not job.waited


def test_submit_without_an_image_runs_the_published_template(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """Without --image the job points at the template in Artifact Registry."""
    result = _run(
        "submit",
        "evaluation",
        "--stack-outputs",
        str(stack_outputs),
        "--use-case",
        "support",
        "--param",
        "model_name=gemini-2.5-flash",
        "--tag",
        "v3",
        "--wait",
    )

    assert result.exit_code == 0, result.output
    (job,) = recording_jobs
    assert job.kwargs["template_path"] == f"{REPOSITORY}/llmops-evaluation/v3"
    assert cli.parameters.PIPELINE_NAME.match(job.kwargs["job_id"])
    assert job.kwargs["job_id"].startswith("llmops-evaluation-")
    assert job.waited


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "epoch=3"], "no parameter epoch"),
        (["--param", "template_version=three"], "not a valid Integer"),
        (["--label", "Team=x"], "key 'Team'"),
        (["--job-id", "Bad_Id"], "--job-id"),
        ([], "needs model_name"),
        (["--param", "use_case=billing"], "use_case: pass --use-case instead"),
        (["--param", "dataset=other"], "dataset: it is the stack's bigquery"),
        (["--param", "project=other-project"], "project: it is the stack's"),
        (["--param", "eval_fraction=0.9"], "eval_fraction: must be above 0"),
        (["--param", "prediction_source=guess"], "prediction_source: must be"),
        (["--param", "template_version=-1"], "template_version: must be 0"),
        (["--param", "eval_dataset_uri=not-a-uri"], "eval_dataset_uri: 'not-a-uri'"),
        (["--param", "eval_fraction=nan"], "not a valid finite Float"),
        (["--param", "labels=[1]"], "--param labels='\\[1\\]' is not a JSON object"),
        (["--param", 'labels="x"'], "is not a JSON object; pass e.g. labels="),
        (["--param", 'labels={"team": 1}'], "value 1 of 'team' is not a string"),
    ],
)
def test_submit_refuses_bad_input_before_calling_vertex(
    recording_jobs: list[RecordingPipelineJob],
    stack_outputs: Path,
    args: list[str],
    message: str,
) -> None:
    """Unknown parameters, mistyped values and bad labels never reach Vertex."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match=message):
        _run(
            "submit",
            "evaluation",
            "--stack-outputs",
            str(stack_outputs),
            "--use-case",
            "support",
            *(["--param", "model_name=gemini-2.5-flash"] if args else []),
            *args,
        )
    assert recording_jobs == []


@pytest.mark.parametrize(
    ("template", "param", "message"),
    [
        ("preference-tuning", "epochs=0", "epochs: must be between 1 and 100"),
        ("preference-tuning", "tuner=sft", "tuner: 'sft' does not take preference"),
        ("supervised-tuning", "min_new_examples=-5", "min_new_examples: must be 0"),
        ("supervised-tuning", "base_model= ", "base_model: must name the model"),
        ("preference-tuning", "embedding_backend=bogus", "embedding_backend: must"),
        ("supervised-tuning", "embedding_backend=bogus", "embedding_backend: must"),
        ("preference-tuning", "template_version=-5", "template_version: must be 0"),
        ("supervised-tuning", "template_version=-5", "template_version: must be 0"),
        ("preference-tuning", "min_score_gap=-1", "min_score_gap: must be above 0"),
        ("preference-tuning", "min_score_gap=inf", "not a valid finite Float"),
        ("supervised-tuning", "min_accepted_score=99", "min_accepted_score: must be"),
        ("supervised-tuning", "min_accepted_score=-inf", "not a valid finite Float"),
    ],
)
def test_submit_runs_the_templates_own_checks_first(
    recording_jobs: list[RecordingPipelineJob],
    stack_outputs: Path,
    template: str,
    param: str,
    message: str,
) -> None:
    """A value the first task would reject is refused before a job exists."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match=message):
        _run(
            "submit",
            template,
            "--stack-outputs",
            str(stack_outputs),
            "--use-case",
            "support",
            "--param",
            param,
        )
    assert recording_jobs == []


def test_submit_names_missing_stack_outputs(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """A stack without the pipeline outputs is refused, naming what is missing."""
    from llmops.errors import ConfigError

    outputs = json.loads(stack_outputs.read_text())
    del outputs[cli.OUTPUT_PIPELINE_SERVICE_ACCOUNT]
    stack_outputs.write_text(json.dumps(outputs))

    with pytest.raises(ConfigError, match="pipelineServiceAccount"):
        _run(
            "submit",
            "evaluation",
            "--stack-outputs",
            str(stack_outputs),
            "--use-case",
            "support",
        )
    assert recording_jobs == []


class RecordingRegistryClient:
    """Stands in for kfp.registry.RegistryClient; records uploads."""

    uploads: ClassVar[list[tuple[str, dict[str, Any], list[str]]]] = []

    def __init__(self, *, host: str) -> None:
        self.host = host

    def upload_pipeline(self, *, file_name: str, tags: list[str]) -> None:
        spec = yaml.safe_load(Path(file_name).read_text())
        RecordingRegistryClient.uploads.append((self.host, spec, tags))


def test_publish_uploads_every_template_tagged_by_content(
    monkeypatch: pytest.MonkeyPatch, stack_outputs: Path
) -> None:
    """Each template goes to the repository tagged sha-<hash of its YAML>, latest."""
    import kfp.registry

    RecordingRegistryClient.uploads = []
    monkeypatch.setattr(kfp.registry, "RegistryClient", RecordingRegistryClient)

    result = _run(
        "publish",
        "--stack-outputs",
        str(stack_outputs),
        "--image",
        IMAGE,
        "--tag",
        "v1",
    )
    again = list(RecordingRegistryClient.uploads)
    _run("publish", "--stack-outputs", str(stack_outputs), "--image", IMAGE + "-2")

    assert result.exit_code == 0, result.output
    names = {spec["pipelineInfo"]["name"] for _, spec, _ in again}
    assert names == {
        "llmops-preference-tuning",
        "llmops-supervised-tuning",
        "llmops-evaluation",
    }
    for host, _, tags in again:
        assert host == REPOSITORY
        assert tags[1:] == ["latest", "v1"]
        assert re.fullmatch(r"sha-[0-9a-f]{12}", tags[0])
    # Another image is another template: its content tag differs.
    first = {spec["pipelineInfo"]["name"]: tags[0] for _, spec, tags in again}
    second = {
        spec["pipelineInfo"]["name"]: tags[0]
        for _, spec, tags in RecordingRegistryClient.uploads[len(again) :]
    }
    assert all(first[name] != second[name] for name in first)
    # The same image gives the same content tag: nothing changes, nothing moves.
    before = len(RecordingRegistryClient.uploads)
    _run("publish", "--stack-outputs", str(stack_outputs), "--image", IMAGE)
    third = {
        spec["pipelineInfo"]["name"]: tags[0]
        for _, spec, tags in RecordingRegistryClient.uploads[before:]
    }
    assert third == first


def test_publish_takes_a_repository_url_instead_of_stack_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Infra can publish by URL; a non-https URL is refused before any upload."""
    import kfp.registry

    from llmops.errors import InputError

    RecordingRegistryClient.uploads = []
    monkeypatch.setattr(kfp.registry, "RegistryClient", RecordingRegistryClient)

    result = _run("publish", "--repository-url", REPOSITORY, "--image", IMAGE)
    assert result.exit_code == 0, result.output
    assert {host for host, _, _ in RecordingRegistryClient.uploads} == {REPOSITORY}

    RecordingRegistryClient.uploads = []
    with pytest.raises(InputError, match="https://"):
        _run("publish", "--repository-url", "ftp://x", "--image", IMAGE)
    assert RecordingRegistryClient.uploads == []


def _submit(stack_outputs: Path, *args: str) -> Any:
    return _run(
        "submit",
        "evaluation",
        "--stack-outputs",
        str(stack_outputs),
        "--param",
        "model_name=gemini-2.5-flash",
        *args,
    )


def _with_outputs(path: Path, **changes: Any) -> Path:
    outputs = json.loads(path.read_text())
    outputs.update(changes)
    path.write_text(json.dumps(outputs))
    return path


def test_submit_refuses_a_use_case_the_stack_does_not_declare(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """With the stack's useCases output, only those use cases may be submitted."""
    from llmops.errors import InputError

    details = {"serviceAccount": ACCOUNT, "restrictNamespace": "use_case"}
    _with_outputs(
        stack_outputs,
        useCases={"support": details, "billing": details},
        defaultUseCase="support",
    )

    with pytest.raises(InputError, match=r"'sales' is not one of .*billing, support"):
        _submit(stack_outputs, "--use-case", "sales")
    assert recording_jobs == []

    result = _submit(stack_outputs, "--use-case", "billing")
    assert result.exit_code == 0, result.output
    (job,) = recording_jobs
    assert job.kwargs["parameter_values"]["use_case"] == "billing"


def test_a_stack_without_declared_use_cases_takes_its_default(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """An empty useCases output leaves only the default use case."""
    from llmops.errors import InputError

    _with_outputs(stack_outputs, useCases={}, defaultUseCase="shared")

    with pytest.raises(InputError, match=r"stack's use cases \(shared\)"):
        _submit(stack_outputs, "--use-case", "support")
    assert _submit(stack_outputs, "--use-case", "shared").exit_code == 0


@pytest.mark.parametrize("use_case", ["Support", "support_team", "ab", "x" * 21])
def test_submit_reports_a_bad_use_case_as_a_use_case(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path, use_case: str
) -> None:
    """A use-case name outside the contract's rule is named as --use-case."""
    from llmops.errors import InputError

    with pytest.raises(InputError) as raised:
        _submit(stack_outputs, "--use-case", use_case)
    message = str(raised.value)
    assert message.startswith(f"--use-case {use_case!r} is not a use-case name")
    assert contract.USE_CASE_RULE in message
    assert "label" not in message
    assert recording_jobs == []


def test_a_capitalised_use_case_is_shown_in_lowercase(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """The message suggests the name the user most likely meant."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match="pass --use-case support$"):
        _submit(stack_outputs, "--use-case", "Support")


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("use-case=other", "--label use-case: --use-case sets it"),
        ("managed-by=x", "--label managed-by: the command sets it"),
        ("platform=x", "--label platform: the command sets it"),
        ("pipeline=x", "--label pipeline: the NAME argument sets it"),
    ],
)
def test_submit_refuses_labels_the_command_sets(
    recording_jobs: list[RecordingPipelineJob],
    stack_outputs: Path,
    label: str,
    message: str,
) -> None:
    """--label may not replace the command's own labels."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match=message):
        _submit(stack_outputs, "--use-case", "support", "--label", label)
    assert recording_jobs == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({contract.OUTPUT_DATASET: None}, "bigqueryDataset"),
        ({contract.OUTPUT_PROJECT: None}, "project"),
        ({contract.OUTPUT_REGION: ""}, "region"),
        ({contract.OUTPUT_REGION: 4}, "region"),
    ],
)
def test_submit_names_null_or_empty_stack_outputs(
    recording_jobs: list[RecordingPipelineJob],
    stack_outputs: Path,
    changes: dict[str, Any],
    named: str,
) -> None:
    """A null, empty or non-text project, region or dataset output is named."""
    from llmops.errors import ConfigError

    _with_outputs(stack_outputs, **changes)

    with pytest.raises(ConfigError, match=f"lacks {named} "):
        _submit(stack_outputs, "--use-case", "support")
    assert recording_jobs == []


def test_a_malformed_use_cases_output_is_refused(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """A useCases output that is not a name map is a config error, not a crash."""
    from llmops.errors import ConfigError

    _with_outputs(stack_outputs, useCases="support")

    with pytest.raises(ConfigError, match="useCases must map"):
        _submit(stack_outputs, "--use-case", "support")
    assert recording_jobs == []


def test_submit_without_credentials_says_how_to_log_in(
    monkeypatch: pytest.MonkeyPatch, stack_outputs: Path
) -> None:
    """No application-default credentials is a clear error, not a traceback."""
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import aiplatform

    from llmops.errors import ConfigError

    class NoCredentials(RecordingPipelineJob):
        def submit(self, *, service_account: str) -> None:
            raise DefaultCredentialsError("Your default credentials were not found")

    monkeypatch.setattr(aiplatform, "PipelineJob", NoCredentials)
    with pytest.raises(ConfigError, match="gcloud auth application-default login"):
        _run(
            "submit",
            "evaluation",
            "--stack-outputs",
            str(stack_outputs),
            "--use-case",
            "support",
            "--param",
            "model_name=gemini-2.5-flash",
        )


def test_a_parameter_given_twice_is_refused(
    recording_jobs: list[RecordingPipelineJob], stack_outputs: Path
) -> None:
    """`--param epochs=1 --param epochs=2` names the parameter, submits nothing."""
    from llmops.errors import InputError

    with pytest.raises(InputError, match="--param epochs is given twice"):
        _run(
            "submit",
            "supervised-tuning",
            "--stack-outputs",
            str(stack_outputs),
            "--use-case",
            "support",
            "--param",
            "epochs=1",
            "--param",
            "epochs=2",
        )
    assert recording_jobs == []
