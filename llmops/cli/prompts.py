"""``llmops prompts``: push, promote, roll back, inspect, sync and test templates.

Every subcommand targets the running local platform unless given
``--stack-outputs FILE`` for a cloud stack.
"""

from __future__ import annotations

import getpass
import json
import os
import sys

import click

from llmops import contract as c
from llmops import runtime
from llmops.cli._options import target_from, target_options
from llmops.errors import ConfigError, CorruptObjectError, InputError
from llmops.prompts import PromptRegistry, Reference, load_folder, load_template
from llmops.prompts.cases import FAIL, RecordedOutputs, TestRun, TextModel, run_tests
from llmops.prompts.client import ENV_PROMPTS_BUCKET
from llmops.prompts.template import PromptTemplate
from llmops.targets import Target, state_dir

ENV_AUTHOR = "LLMOPS_AUTHOR"


def registry_bucket(target: Target, state: str | None) -> str:
    """The registry bucket: the target's own record, else LLMOPS_PROMPTS_BUCKET."""
    # A stray variable in the shell must not redirect a stack's registry.
    named = target.env.get(ENV_PROMPTS_BUCKET)
    if named:
        return named
    if target.kind == "cloud":
        bucket = target.outputs.get(c.OUTPUT_PROMPTS_BUCKET)
        if not bucket:
            raise ConfigError(
                f"the stack outputs lack {c.OUTPUT_PROMPTS_BUCKET}; redeploy the stack "
                "so that it exports the prompt registry bucket"
            )
        return str(bucket)
    if os.environ.get(ENV_PROMPTS_BUCKET):
        return os.environ[ENV_PROMPTS_BUCKET]
    record = json.loads((state_dir(state) / "platform.json").read_text())
    return str(record["buckets"]["prompts"])


def open_registry(stack_outputs: str | None, state: str | None) -> PromptRegistry:
    """The registry of the target, recording its events in the target's dataset."""
    target = target_from(stack_outputs, state)
    settings = target.settings()
    return PromptRegistry(
        runtime.object_store(settings),
        registry_bucket(target, state),
        events=runtime.table_store(settings),
        cloud=target.kind != "local",
    )


def _author(explicit: str | None) -> str:
    return explicit or os.environ.get(ENV_AUTHOR) or getpass.getuser()


_author_option = click.option(
    "--author",
    default=None,
    help=f"Who makes the change (default ${ENV_AUTHOR} or login).",
)
_message_option = click.option(
    "-m", "--message", default="", help="Why, as in a commit."
)


@click.group("prompts")
def command() -> None:
    """The prompt registry: versions, labels, sync and tests of templates."""


@command.command("push")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False)
)
@_message_option
@_author_option
@target_options
def push(
    files: tuple[str, ...],
    message: str,
    author: str | None,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Store a new version of each template FILE whose content changed."""
    # Validate every file before storing any, so a bad file stores nothing.
    templates = [load_template(path) for path in files]
    registry = open_registry(stack_outputs, state_dir)
    for template in templates:
        result = registry.push(template, author=_author(author), message=message)
        state = "new version" if result.created else "unchanged"
        click.echo(
            f"{result.name}: {state} {result.version} ({result.content_hash[:19]})"
        )


@command.command("sync")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@_message_option
@_author_option
@target_options
def sync(
    folder: str,
    message: str,
    author: str | None,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Push every template under FOLDER that changed; fail if any is invalid."""
    templates = load_folder(folder)
    registry = open_registry(stack_outputs, state_dir)
    results = registry.sync(templates, author=_author(author), message=message)
    created = [r for r in results if r.created]
    for result in results:
        click.echo(
            f"{result.name}: {'new version' if result.created else 'unchanged'} "
            f"{result.version}"
        )
    click.echo(f"{len(created)} pushed, {len(results) - len(created)} unchanged")


@command.command("promote")
@click.argument("reference")
@click.argument("label")
@_message_option
@_author_option
@target_options
def promote(
    reference: str,
    label: str,
    message: str,
    author: str | None,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Point LABEL at REFERENCE: name:version, name@other-label, or name (newest)."""
    registry = open_registry(stack_outputs, state_dir)
    version = registry.resolve(reference)
    move = registry.promote(
        version.name, version.version, label, author=_author(author), message=message
    )
    if move.previous_version == move.version:
        click.echo(f"{move.name}@{move.label}: already at {move.version}, unchanged")
        return
    click.echo(
        f"{move.name}@{move.label}: {move.previous_version or '-'} -> {move.version}"
    )


@command.command("rollback")
@click.argument("name")
@click.argument("label")
@click.option("--to", "to_version", type=int, default=None, help="An earlier version.")
@_message_option
@_author_option
@target_options
def rollback(
    name: str,
    label: str,
    to_version: int | None,
    message: str,
    author: str | None,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Move LABEL of NAME back to the version it pointed at before."""
    registry = open_registry(stack_outputs, state_dir)
    move = registry.rollback(
        name, label, author=_author(author), to_version=to_version, message=message
    )
    click.echo(f"{move.name}@{move.label}: {move.previous_version} -> {move.version}")


@command.command("list")
@click.argument("name", required=False)
@target_options
def list_(name: str | None, stack_outputs: str | None, state_dir: str | None) -> None:
    """Every template with its newest version and labels, or NAME's versions."""
    registry = open_registry(stack_outputs, state_dir)
    if name is None:
        names = registry.names()
        if not names:
            click.echo("no templates yet: `llmops prompts push FILE`")
        for each in names:
            numbers = registry.version_numbers(each)
            damaged: list[str] = []
            labels = registry.labels(each, damaged)
            shown = [f"{k}={v}" for k, v in sorted(labels.items())]
            shown += [f"{label}=DAMAGED" for label in sorted(damaged)]
            newest = numbers[-1] if numbers else "none"
            click.echo(f"{each}  newest {newest}  ({', '.join(shown) or 'no labels'})")
            _explain_damaged(each, damaged)
        return
    labels_by_version: dict[int, list[str]] = {}
    damaged = []
    for label, version in registry.labels(name, damaged).items():
        labels_by_version.setdefault(version, []).append(label)
    numbers = registry.version_numbers(name)
    if not numbers:
        raise InputError(f"template {name!r} has no versions; push it first")
    for number in numbers:
        tags = ",".join(sorted(labels_by_version.get(number, [])))
        try:
            version = registry.version(name, number)
        except CorruptObjectError:
            click.echo(f"{number:>4}  DAMAGED (never served; `prompts show` says why)")
            continue
        click.echo(
            f"{number:>4}  {version.created[:19]}  {version.author:<12}  "
            f"{version.content_hash[7:19]}  {('[' + tags + ']') if tags else ''}  "
            f"{version.message}"
        )
    _explain_damaged(name, damaged)


def _explain_damaged(name: str, damaged: list[str]) -> None:
    for label in sorted(damaged):
        click.echo(
            f"  label {label} of {name} is damaged; `llmops prompts promote "
            f"{name}:VERSION {label}` sets it again (the damaged object is kept)",
            err=True,
        )


@command.command("show")
@click.argument("reference")
@target_options
def show(reference: str, stack_outputs: str | None, state_dir: str | None) -> None:
    """Print a version (name, name@label or name:version) as YAML."""
    registry = open_registry(stack_outputs, state_dir)
    version = registry.resolve(reference)
    click.echo(
        f"# {version.name}:{version.version}  {version.content_hash}\n"
        f"# by {version.author} at {version.created}: {version.message}"
    )
    click.echo(version.template.to_yaml(), nl=False)


@command.command("diff")
@click.argument("left")
@click.argument("right")
@target_options
def diff(
    left: str, right: str, stack_outputs: str | None, state_dir: str | None
) -> None:
    """Show how RIGHT differs from LEFT (references; RIGHT may be :N or @label)."""
    if right.startswith((":", "@")):
        right = Reference.parse(left).name + right
    registry = open_registry(stack_outputs, state_dir)
    text = registry.diff(left, right)
    click.echo(text or f"{left} and {right} have the same content", nl=not text)


@command.command("test")
@click.argument("names", nargs=-1)
@click.option(
    "--dir",
    "folder",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Test the template files under this folder instead of the registry.",
)
@click.option("--label", default=None, help="Registry label to test (default: newest).")
@click.option(
    "--model",
    "model_spec",
    default=None,
    help="vertex or vertex:MODEL to answer the cases (needs --stack-outputs).",
)
@click.option(
    "--recorded",
    type=click.Path(dir_okay=False),
    default=None,
    help="JSON file of recorded outputs to compare answers with (or replay).",
)
@click.option("--record", is_flag=True, help="Save the model's answers to --recorded.")
@target_options
def test(
    names: tuple[str, ...],
    folder: str | None,
    label: str | None,
    model_spec: str | None,
    recorded: str | None,
    record: bool,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Run the templates' test cases and report pass/fail per case."""
    if record and not (recorded and model_spec):
        raise click.UsageError("--record needs --recorded FILE and --model")
    if model_spec and not stack_outputs:
        # The local platform serves no generative model; refuse before any
        # client is built.
        raise click.UsageError(
            f"--model {model_spec} answers through Vertex AI and needs "
            "--stack-outputs FILE; without a model the render-only checks run"
        )
    templates = _templates_to_test(names, folder, label, stack_outputs, state_dir)
    model = _model(model_spec, stack_outputs, state_dir)
    outputs = RecordedOutputs(recorded) if recorded else None
    needs_embedder = (model is not None or outputs is not None) and any(
        a.kind == "similar_to"
        for t in templates
        for case in t.tests
        for a in case.assertions
    )
    embedder = _embedder(stack_outputs, state_dir) if needs_embedder else None
    run = run_tests(
        templates, model=model, embedder=embedder, recorded=outputs, record=record
    )
    _print_run(run)
    if not run.ok:
        sys.exit(1)


def _templates_to_test(
    names: tuple[str, ...],
    folder: str | None,
    label: str | None,
    stack_outputs: str | None,
    state: str | None,
) -> list[PromptTemplate]:
    if folder is not None:
        templates = load_folder(folder)
        if names:
            unknown = sorted(set(names) - {t.name for t in templates})
            if unknown:
                raise InputError(
                    f"no template named {', '.join(unknown)} under {folder}"
                )
            templates = [t for t in templates if t.name in names]
        return templates
    registry = open_registry(stack_outputs, state)
    chosen = list(names) or registry.names()
    return [
        registry.resolve(Reference(name=name, label=label)).template for name in chosen
    ]


def _model(
    spec: str | None, stack_outputs: str | None, state: str | None
) -> TextModel | None:
    if spec is None:
        return None
    kind, _, name = spec.partition(":")
    if kind != "vertex":
        raise click.UsageError(f"--model {spec!r}: use vertex or vertex:MODEL")
    from llmops.prompts.models import VertexTextModel

    target = target_from(stack_outputs, state)
    settings = target.settings()
    return VertexTextModel(
        settings.project or "", settings.location or "", name or None
    )


def _embedder(stack_outputs: str | None, state: str | None):
    try:
        target = target_from(stack_outputs, state)
    except ConfigError:
        # No platform to ask: the local model needs none.
        from llmops.backends.local_embeddings import LocalEmbedder

        return LocalEmbedder()
    return runtime.embedder(target.settings())


def _print_run(run: TestRun) -> None:
    for result in run.results:
        line = f"{result.status.upper():<8} {result.template}/{result.case}"
        if result.replayed:
            line += "  (recorded answer)"
        if result.changed:
            line += f"  CHANGED: {result.change}"
        click.echo(line)
        if result.error:
            click.echo(f"         {result.error}")
        for verdict in result.assertions:
            if result.status == FAIL or not verdict.passed:
                mark = "ok " if verdict.passed else "NO "
                click.echo(f"         {mark}{verdict.kind}: {verdict.detail}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(run.counts().items()))
    click.echo(f"{len(run.results)} cases: {counts or 'none'}")
    if not run.model_checks_run:
        click.echo(
            "model checks not run: no model configured; only rendering was checked"
            + (
                " (assertions ran on recorded answers)"
                if any(r.replayed for r in run.results)
                else ""
            )
            + ". Pass --model vertex with --stack-outputs to ask a model."
        )
    if run.changed:
        click.echo(f"{len(run.changed)} answers changed since they were recorded")
