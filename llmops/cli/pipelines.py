"""``llmops pipelines``: compile, submit and locally run the pipeline templates.

``compile`` writes every template's YAML; ``publish`` uploads them to the
stack's Artifact Registry KFP repository; ``submit NAME`` starts a run on a
cloud stack's Vertex AI Pipelines with the stack's pipeline root, service
account and dataset; ``run-local NAME`` runs the preparation and evaluation
steps under ``kfp.local`` against the local platform's tables and says which
managed steps it skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import math
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from llmops import contract
from llmops.errors import ConfigError, InputError
from llmops.pipelines import parameters
from llmops.targets import cloud_target, local_target

logger = logging.getLogger(__name__)

# Stack outputs the pipeline commands read beyond the contract's.
OUTPUT_PIPELINE_SERVICE_ACCOUNT = contract.OUTPUT_PIPELINE_SERVICE_ACCOUNT
OUTPUT_TEMPLATE_REPOSITORY_URL = contract.OUTPUT_TEMPLATE_REPOSITORY_URL

# REGISTRY/PATH[:TAG][@sha256:DIGEST], as container runtimes accept them.
_IMAGE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


def _image(value: str | None) -> str | None:
    if value is not None and not _IMAGE.match(value):
        raise click.BadParameter(
            f"{value!r} is not a container image reference such as "
            "us-central1-docker.pkg.dev/PROJECT/REPO/llmops:1.0"
        )
    return value


# kfp.local runs each task in this interpreter; the image is never pulled.
LOCAL_IMAGE = "python-llmops-local"
DEFAULT_OUTPUT_DIR = Path("build") / "pipelines"
DEFAULT_LOCAL_OUTPUT_DIR = Path(".llmops") / "pipelines"
DEFAULT_LABELS = {"platform": "llmops", "managed-by": "llmops-cli"}
# Labels the command sets on every run, and where each value comes from.
_OWN_LABELS = {
    "platform": "the command sets it to llmops",
    "managed-by": "the command sets it to llmops-cli",
    "pipeline": "the NAME argument sets it",
    "use-case": "--use-case sets it",
}


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def templates() -> ModuleType:
    """The ``pipeline_templates`` package: installed, or this repository's."""
    try:
        return importlib.import_module("pipeline_templates")
    except ModuleNotFoundError as error:
        if error.name != "pipeline_templates":
            raise ConfigError(
                f"the pipeline templates need {error.name}, which is not "
                "installed; install the project's pipelines extra "
                "(`pip install -e '.[pipelines]'`)"
            ) from None
    # A fork runs the CLI from its checkout, whose templates are the ones to use.
    local = Path.cwd() / "pipeline_templates" / "__init__.py"
    if not local.is_file():
        raise ConfigError(
            "the pipeline_templates package is not importable; run the command "
            "from the repository root (where pipeline_templates/ is) or install "
            "the project with `pip install -e '.[pipelines]'`"
        )
    sys.path.insert(0, str(Path.cwd()))
    return importlib.import_module("pipeline_templates")


def _key_values(pairs: Sequence[str], what: str) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"{what} {pair!r} must be KEY=VALUE")
        if key in values:
            raise InputError(
                f"{what} {key} is given twice ({values[key]!r} and {value!r}); "
                "give it once"
            )
        values[key] = value
    return values


_EXAMPLES = {
    "Integer": "100",
    "Float": "0.2",
    "Boolean": "true",
    "Dict": '\'{"team": "support"}\'',
    "List": '\'["a", "b"]\'',
}
_JSON_KINDS = {"Dict": (dict, "a JSON object"), "List": (list, "a JSON array")}


def _typed(name: str, raw: str, kind: str) -> Any:
    # Parameter values arrive as text; the pipeline spec says what each is.
    try:
        if kind == "Integer":
            return int(raw)
        if kind == "Float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if kind == "Boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if kind in _JSON_KINDS:
            value = json.loads(raw)
            expected, what = _JSON_KINDS[kind]
            if not isinstance(value, expected):
                raise InputError(
                    f"--param {name}={raw!r} is not {what}; pass e.g. "
                    f"{name}={_EXAMPLES[kind]}"
                )
            return value
    except (ValueError, json.JSONDecodeError):
        finite = " finite" if kind == "Float" else ""
        raise InputError(
            f"--param {name}={raw!r} is not a valid{finite} {kind}; pass e.g. "
            f"{name}={_EXAMPLES.get(kind, 'VALUE')}"
        ) from None
    return raw


# Parameters the stack and the command decide; a --param may not change them.
_FROM_STACK = {
    "use_case": "pass --use-case instead",
    "dataset": "it is the stack's bigqueryDataset output",
    "project": "it is the stack's project; Vertex fills it in",
    "location": "it is the stack's region; Vertex fills it in",
    "bigquery_endpoint": "a cloud run uses BigQuery itself",
}


def pipeline_parameters(
    name: str,
    given: Mapping[str, str],
    fixed: Mapping[str, Any],
    *,
    resolved: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's parameter values, checked against the template's inputs.

    ``fixed`` values come from the stack and the command line and may not be
    overridden by ``given``. ``resolved`` holds what Vertex fills in at run
    time (project, location), so that the template's own parameter checks run
    here, before a job is created, with the values the run will see.
    """
    module = templates().template(name)
    inputs = module.pipeline(LOCAL_IMAGE).component_spec.inputs or {}
    unknown = sorted(set(given) - set(inputs))
    if unknown:
        raise InputError(
            f"template {name} has no parameter {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(set(inputs) - set(_FROM_STACK)))}"
        )
    reserved = sorted(set(given) & (set(fixed) | set(_FROM_STACK)))
    if reserved:
        raise InputError(
            "; ".join(
                f"--param {key}: {_FROM_STACK.get(key, 'the stack sets it')}"
                for key in reserved
            )
        )
    values = {key: _typed(key, raw, inputs[key].type) for key, raw in given.items()}
    values.update({k: v for k, v in fixed.items() if k in inputs})
    missing = sorted(
        k for k, spec in inputs.items() if not spec.optional and k not in values
    )
    if missing:
        raise InputError(
            f"template {name} needs {', '.join(missing)}; pass --param "
            f"{missing[0]}=VALUE"
        )
    checked = {
        key: spec.default for key, spec in inputs.items() if spec.default is not None
    }
    checked.update(values)
    checked.update(resolved or {})
    module.check(checked)
    return values


def job_id_for(pipeline_name: str, now: datetime | None = None) -> str:
    """A job id in Vertex's pattern: the pipeline name and a UTC timestamp."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{pipeline_name}-{stamp}"[:128]


def _stack(outputs_file: Path) -> Mapping[str, Any]:
    outputs = cloud_target(outputs_file).outputs
    missing = [
        key
        for key in (
            contract.OUTPUT_PROJECT,
            contract.OUTPUT_REGION,
            contract.OUTPUT_DATASET,
            contract.OUTPUT_PIPELINE_ROOT,
            OUTPUT_PIPELINE_SERVICE_ACCOUNT,
            OUTPUT_TEMPLATE_REPOSITORY_URL,
        )
        if not isinstance(outputs.get(key), str) or not outputs[key].strip()
    ]
    if missing:
        raise ConfigError(
            f"stack outputs file {outputs_file} lacks {', '.join(missing)} (each "
            "must be a non-empty text value); deploy the stack, including the "
            "pipeline-templates component, and save the outputs again with "
            "`pulumi stack output --json`"
        )
    use_cases = outputs.get(contract.OUTPUT_USE_CASES)
    if use_cases is not None and not (
        isinstance(use_cases, Mapping | list)
        and all(isinstance(name, str) for name in use_cases)
    ):
        raise ConfigError(
            f"stack outputs file {outputs_file}: {contract.OUTPUT_USE_CASES} must "
            "map each use case's name to its details; save the outputs again with "
            "`pulumi stack output --json`"
        )
    return outputs


def stack_use_cases(outputs: Mapping[str, Any]) -> list[str] | None:
    """The use cases the stack declares, or None when its outputs do not say."""
    declared = outputs.get(contract.OUTPUT_USE_CASES)
    if declared is None:
        return None
    names = {str(name) for name in declared}
    # A stack without declared use cases logs under its default one.
    default = outputs.get(contract.OUTPUT_DEFAULT_USE_CASE)
    if isinstance(default, str) and default:
        names.add(default)
    return sorted(names)


def check_use_case(use_case: str, outputs: Mapping[str, Any]) -> None:
    """Refuse a use-case name outside the contract's rule or the stack's list."""
    if not contract.USE_CASE_NAME.fullmatch(use_case):
        hint = use_case.strip().lower().replace("_", "-")
        example = (
            f"--use-case {hint}"
            if contract.USE_CASE_NAME.fullmatch(hint)
            else "e.g. --use-case support"
        )
        raise InputError(
            f"--use-case {use_case!r} is not a use-case name: it must be "
            f"{contract.USE_CASE_RULE}; pass {example}"
        )
    known = stack_use_cases(outputs)
    if known is not None and use_case not in known:
        listed = ", ".join(known) or "none"
        raise InputError(
            f"--use-case {use_case!r} is not one of the stack's use cases "
            f"({listed}); pass one of them, or add it to llmops:useCases and "
            "deploy the stack first"
        )


def _own_label_problems(labels: Mapping[str, str]) -> list[str]:
    return [
        f"--label {key}: {reason}; remove it"
        for key, reason in _OWN_LABELS.items()
        if key in labels
    ]


def submit_job(
    name: str,
    outputs: Mapping[str, Any],
    *,
    use_case: str,
    given: Mapping[str, str],
    labels: Mapping[str, str],
    image: str | None,
    tag: str,
    job_id: str | None,
    wait: bool,
) -> Any:
    """Start a Vertex AI pipeline job for the template on the stack."""
    from google.cloud import aiplatform

    module = templates().template(name)
    check_use_case(use_case, outputs)
    problems = _own_label_problems(labels)
    if problems:
        raise InputError("; ".join(problems))
    run_labels = {**DEFAULT_LABELS, "pipeline": name, "use-case": use_case, **labels}
    problems = parameters.label_problems(run_labels)
    if problems:
        raise InputError("; ".join(problems))
    job_id = job_id or job_id_for(module.PIPELINE_NAME)
    if not parameters.PIPELINE_NAME.match(job_id):
        raise InputError(
            f"--job-id {job_id!r} must hold at most 128 lowercase letters, digits "
            "and '-', starting with a letter or digit"
        )
    values = pipeline_parameters(
        name,
        given,
        {"use_case": use_case, "dataset": outputs[contract.OUTPUT_DATASET]},
        resolved={
            "project": str(outputs[contract.OUTPUT_PROJECT]),
            "location": str(outputs[contract.OUTPUT_REGION]),
        },
    )

    # A given image means "compile this checkout"; otherwise run the template
    # the infra published to the stack's Artifact Registry repository.
    with tempfile.TemporaryDirectory() as scratch:
        if image:
            template_path = str(
                templates().compile_template(
                    name, Path(scratch) / f"{name}.yaml", image
                )
            )
        else:
            repository = str(outputs[OUTPUT_TEMPLATE_REPOSITORY_URL]).rstrip("/")
            template_path = f"{repository}/{module.PIPELINE_NAME}/{tag}"
        from google.auth.exceptions import DefaultCredentialsError

        try:
            job = aiplatform.PipelineJob(
                display_name=job_id,
                template_path=template_path,
                job_id=job_id,
                pipeline_root=str(outputs[contract.OUTPUT_PIPELINE_ROOT]),
                parameter_values=values,
                labels=run_labels,
                project=str(outputs[contract.OUTPUT_PROJECT]),
                location=str(outputs[contract.OUTPUT_REGION]),
                enable_caching=False,
            )
            job.submit(service_account=str(outputs[OUTPUT_PIPELINE_SERVICE_ACCOUNT]))
        except DefaultCredentialsError:
            raise ConfigError(
                "no Google Cloud credentials were found to submit the job; run "
                "`gcloud auth application-default login` (or set "
                "GOOGLE_APPLICATION_CREDENTIALS to a key file) and submit again; "
                "nothing was submitted"
            ) from None
    logger.info(
        "pipelines.submitted", extra={"fields": {"template": name, "job": job_id}}
    )
    if wait:
        job.wait()
    return job


def publish_templates(
    repository_url: str, image: str, tags: Sequence[str] = ()
) -> dict[str, list[str]]:
    """Compile every template and upload it to the KFP repository.

    Each upload is tagged with the hash of its YAML (``sha-`` and 12 hex
    digits), ``latest`` and any given tags, so a schedule can pin an exact
    template and ``submit`` finds the newest.
    """
    from kfp.registry import RegistryClient

    client = RegistryClient(host=repository_url)
    published: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for path in templates().compile_all(Path(scratch), image):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            run_tags = [f"sha-{digest}", "latest", *tags]
            client.upload_pipeline(file_name=str(path), tags=run_tags)
            published[path.stem] = run_tags
    logger.info(
        "pipelines.published",
        extra={"fields": {"repository": repository_url, "templates": len(published)}},
    )
    return published


@dataclass(frozen=True)
class LocalRun:
    """The files a local run wrote and their row counts."""

    files: dict[str, Path]
    rows: dict[str, int]
    skipped: tuple[str, ...]
    model: str
    log: Path


def _count_rows(path: Path) -> int:
    with path.open(encoding="utf-8") as source:
        return sum(1 for line in source if line.strip())


def run_local(
    name: str,
    *,
    project: str,
    dataset: str,
    bigquery_endpoint: str,
    use_case: str,
    output_dir: Path,
    current_model: str | None = None,
    template_name: str = "",
    similarity: bool = True,
) -> LocalRun:
    """Run the template's local pipeline under kfp.local; copy out its files."""
    from kfp import local

    from llmops.pipelines.evaluation import current_model as most_called
    from llmops.pipelines.stores import open_table_store

    module = templates().template(name)
    if not bigquery_endpoint:
        raise ConfigError(
            "the local platform's BigQuery endpoint is not known; is it running "
            "(`llmops local status`)?"
        )
    if not contract.USE_CASE_NAME.fullmatch(use_case):
        raise InputError(
            f"--use-case {use_case[:80]!r} is not a use-case name: "
            f"{contract.USE_CASE_RULE}"
        )
    store = open_table_store(project, dataset, bigquery_endpoint)
    model = current_model or most_called(
        store, use_case=use_case, template_name=template_name
    )
    if not model and template_name and most_called(store, use_case=use_case):
        raise InputError(
            f"use case {use_case!r} has logged no interactions of template "
            f"{template_name!r}; check --template-name (`llmops prompts list` "
            "shows the templates), or leave it out to use every template"
        )
    if not model:
        logged = [
            row["use_case"]
            for row in store.query(
                "SELECT DISTINCT use_case FROM {dataset}.interactions "
                "ORDER BY use_case LIMIT 20"
            )
        ]
        hint = (
            f"use cases with interactions: {', '.join(logged)}; pass "
            f"--use-case {logged[0]}"
            if logged
            else "log some first (`llmops demo` logs under use case 'demo')"
        )
        raise InputError(
            f"use case {use_case!r} has logged no interactions in {dataset}; {hint}"
        )

    # Each run gets a fresh root; kfp.local keeps every task's files under it
    # and prints every task's output, which goes to the run's log instead.
    output_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=output_dir))
    log_path = output_dir / "run-local.log"
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(root / "outputs"),
        workspace_root=str(root / "workspace"),
    )
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        try:
            with (
                contextlib.redirect_stdout(log),
                contextlib.redirect_stderr(log),
                warnings.catch_warnings(),
            ):
                # Display names only matter on Vertex AI; kfp.local warns per task.
                warnings.filterwarnings("ignore", message=".*no effect in the current")
                task = module.local_pipeline(LOCAL_IMAGE)(
                    use_case=use_case,
                    dataset=dataset,
                    bigquery_endpoint=bigquery_endpoint,
                    project=project,
                    location="local",
                    current_model=model,
                    template_name=template_name,
                    embedding_backend="local" if similarity else "",
                )
        except RuntimeError as error:
            shutil.rmtree(root, ignore_errors=True)
            raise InputError(
                f"local run of {name} failed: {error}; the tasks' output is in "
                f"{log_path}"
            ) from None

    names = {
        "train": "train.jsonl",
        "evaluation": "evaluation.jsonl",
        "data_card": "data_card.md",
        "report": "evaluation_report.json",
    }
    files = {}
    for output, filename in names.items():
        target = output_dir / filename
        shutil.copyfile(task.outputs[output].path, target)
        files[output] = target
    shutil.rmtree(root, ignore_errors=True)
    logger.info(
        "pipelines.local_run",
        extra={
            "fields": {
                "template": name,
                "ms": round((time.perf_counter() - started) * 1000),
            }
        },
    )
    rows = {
        "train": _count_rows(files["train"]),
        "evaluation": _count_rows(files["evaluation"]),
        "evaluated": int(json.loads(files["report"].read_text())["examples"]),
    }
    return LocalRun(
        files=files, rows=rows, skipped=module.MANAGED_STEPS, model=model, log=log_path
    )


@click.group(name="pipelines")
def command() -> None:
    """Compile, submit and locally run the tuning and evaluation pipelines."""


@command.command("compile")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUTPUT_DIR,
    show_default=True,
    help="Folder the YAML files are written to.",
)
@click.option(
    "--image",
    required=True,
    callback=lambda _ctx, _param, value: _image(value),
    help="Runtime image the components run on (holds kfp and llmops).",
)
def compile_command(output_dir: Path, image: str) -> None:
    """Write every template's pipeline YAML."""
    for path in templates().compile_all(output_dir, image):
        click.echo(f"compiled {path}")


@command.command("submit")
@click.argument("name")
@click.option(
    "--stack-outputs",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="A file written by `pulumi stack output --json`.",
)
@click.option("--use-case", required=True, help="Use case whose feedback is used.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A pipeline parameter; repeat for more.",
)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE")
@click.option(
    "--image",
    default=None,
    help="Compile this checkout's template on IMAGE instead of running the "
    "published one.",
)
@click.option(
    "--tag", default="latest", show_default=True, help="Published template's tag."
)
@click.option("--job-id", default=None, help="Job id (default: name and UTC time).")
@click.option("--wait/--no-wait", default=False, show_default=True)
def submit_command(
    name: str,
    stack_outputs: Path,
    use_case: str,
    params: tuple[str, ...],
    labels: tuple[str, ...],
    image: str | None,
    tag: str,
    job_id: str | None,
    wait: bool,
) -> None:
    """Start template NAME on the stack's Vertex AI Pipelines."""
    job = submit_job(
        name,
        _stack(stack_outputs),
        use_case=use_case,
        given=_key_values(params, "--param"),
        labels=_key_values(labels, "--label"),
        image=image,
        tag=tag,
        job_id=job_id,
        wait=wait,
    )
    click.echo(f"submitted {getattr(job, 'job_id', None) or job_id or name}")


@command.command("publish")
@click.option(
    "--stack-outputs",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A file written by `pulumi stack output --json`.",
)
@click.option(
    "--repository-url",
    default=None,
    help="The KFP repository URL itself (the stack's templateRepositoryUrl).",
)
@click.option(
    "--image",
    required=True,
    callback=lambda _ctx, _param, value: _image(value),
    help="Runtime image the components run on.",
)
@click.option("--tag", "tags", multiple=True, help="Another tag; repeat for more.")
def publish_command(
    stack_outputs: Path | None,
    repository_url: str | None,
    image: str,
    tags: tuple[str, ...],
) -> None:
    """Upload every compiled template to the stack's KFP repository."""
    if bool(stack_outputs) == bool(repository_url):
        raise click.UsageError("give either --stack-outputs or --repository-url")
    repository = repository_url or str(
        _stack(stack_outputs)[OUTPUT_TEMPLATE_REPOSITORY_URL]  # type: ignore[arg-type]
    )
    if not repository.startswith("https://"):
        raise InputError(
            f"--repository-url {repository!r} must be an https:// KFP repository "
            "URL such as https://europe-west4-kfp.pkg.dev/PROJECT/REPOSITORY"
        )
    for name, run_tags in publish_templates(repository, image, tags).items():
        click.echo(f"published {name} as {', '.join(run_tags)}")


@command.command("run-local")
@click.argument("name")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Local platform state folder (default .llmops/local or LLMOPS_STATE_DIR).",
)
@click.option("--use-case", default=None, help="Default: the platform's default.")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Where the files go (default {DEFAULT_LOCAL_OUTPUT_DIR}/USE_CASE/NAME).",
)
@click.option("--model", default=None, help="Current model (default: most called).")
@click.option("--template-name", default="", help="Only this prompt template.")
@click.option(
    "--no-similarity",
    is_flag=True,
    help="Skip embedding similarity (no local embedding model is loaded).",
)
def run_local_command(
    name: str,
    state_dir: str | None,
    use_case: str | None,
    output_dir: Path | None,
    model: str | None,
    template_name: str,
    no_similarity: bool,
) -> None:
    """Run NAME's preparation and evaluation steps on the local platform."""
    from llmops.targets import state_dir as resolve_state_dir

    settings = local_target(resolve_state_dir(state_dir)).settings()
    module = templates().template(name)
    use_case = use_case or settings.default_use_case
    run = run_local(
        name,
        project=settings.project or "local",
        dataset=settings.dataset,
        bigquery_endpoint=settings.bigquery_endpoint or "",
        use_case=use_case,
        output_dir=output_dir or DEFAULT_LOCAL_OUTPUT_DIR / use_case / name,
        current_model=model,
        template_name=template_name,
        similarity=not no_similarity,
    )
    for step in module.MANAGED_STEPS:
        click.echo(
            f"skipped {step}: it needs Vertex AI (managed tuning and what "
            f"follows it); run it with `llmops pipelines submit {name} "
            "--stack-outputs FILE`"
        )
    click.echo(f"baseline model: {run.model}")
    click.echo(f"training file: {run.files['train']} ({_rows(run.rows['train'])})")
    click.echo(
        f"evaluation file: {run.files['evaluation']} ({_rows(run.rows['evaluation'])}, "
        f"{run.rows['evaluated']} with a logged answer)"
    )
    if run.rows["evaluated"] == 0:
        click.echo(
            "warning: no held-out example has a logged answer, so the evaluation "
            "scored nothing; log more feedback (corrections, ratings, "
            "preferences) for this use case and run again"
        )
    click.echo(f"data card: {run.files['data_card']}")
    click.echo(f"evaluation report: {run.files['report']}")
    click.echo(f"task log: {run.log}")
