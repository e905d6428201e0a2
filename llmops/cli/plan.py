"""`llmops plan`: what a stack would create, computed offline under mocks.

The review artefact for a pull request that touches infra/ or a stack file:
every resource with its key inputs and what it depends on, or with `--json`
one object whose `resources` list holds each resource's type, name, inputs
and dependencies, and whose `policies` list holds each rule's verdict. It
exits non-zero when a mandatory rule is violated. The same input always prints
the same bytes.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path

import click

from llmops.errors import ConfigError

logger = logging.getLogger(__name__)


# What the program and the policy pack import: the infra extra.
_INFRA_MODULES = {"pulumi", "pulumi_gcp", "pulumi_policy"}


@click.command(name="plan")
@click.option(
    "--stack",
    "stack_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The stack file, e.g. Pulumi.dev.yaml.",
)
@click.option(
    "--program",
    "program_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The Pulumi program directory (default: `main` of Pulumi.yaml).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def command(stack_file: Path, program_dir: Path | None, as_json: bool) -> None:
    """Show every resource a stack file would create, without touching a cloud."""
    # Imported here so that the rest of the CLI starts without Pulumi.
    from llmops import plan

    try:
        with warnings.catch_warnings():
            # pulumi_gcp warns about deprecated resources it defines, not ours.
            warnings.simplefilter("ignore", DeprecationWarning)
            captured = plan.capture(stack_file, program_dir)
            verdicts = plan.evaluate_policies(captured, stack_file)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _INFRA_MODULES:
            raise
        raise ConfigError(
            f"llmops plan runs the Pulumi program, which needs {error.name}; it "
            "is not installed: install the project's infra extra "
            "(`pip install -e '.[infra]'`)"
        ) from None
    if as_json:
        document = captured.to_json()
        document["policies"] = verdicts
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo(captured.render(), nl=False)
        click.echo(plan.render_policies(verdicts), nl=False)
    logger.info(
        "plan.printed stack=%s resources=%d format=%s",
        captured.stack,
        len(captured.resources),
        "json" if as_json else "text",
    )
    # A mandatory violation fails the plan, as it fails `pulumi preview`.
    if plan.mandatory_violations(verdicts):
        sys.exit(1)
