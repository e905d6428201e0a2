"""Where the CLI and SDK point: the local platform or a cloud stack.

A local target is read from the running platform's state folder; a cloud
target from a stack's outputs saved with ``pulumi stack output --json``.
Either way the result is the same ``Settings`` the functions use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops import contract as c
from llmops.errors import ConfigError
from llmops.settings import Settings

DEFAULT_STATE_DIR = Path(".llmops") / "local"
ENV_STATE_DIR = "LLMOPS_STATE_DIR"

# Stack output -> the environment variable the runtime reads.
_OUTPUT_TO_ENV = {
    c.OUTPUT_PROJECT: c.ENV_PROJECT,
    c.OUTPUT_REGION: c.ENV_LOCATION,
    c.OUTPUT_DOCS_BUCKET: c.ENV_DOCS_BUCKET,
    c.OUTPUT_CHUNKS_BUCKET: c.ENV_CHUNKS_BUCKET,
    c.OUTPUT_PROMPTS_BUCKET: c.ENV_PROMPTS_BUCKET,
    c.OUTPUT_DATASET: c.ENV_BIGQUERY_DATASET,
    c.OUTPUT_VECTOR_INDEX: c.ENV_VECTOR_INDEX,
    c.OUTPUT_INDEX_ENDPOINT: c.ENV_INDEX_ENDPOINT,
    c.OUTPUT_DEPLOYED_INDEX_ID: c.ENV_DEPLOYED_INDEX_ID,
    c.OUTPUT_EMBEDDING_MODEL: c.ENV_EMBEDDING_MODEL,
    c.OUTPUT_EMBEDDING_DIMENSIONS: c.ENV_EMBEDDING_DIMENSIONS,
}


@dataclass(frozen=True)
class Target:
    """A platform to talk to, and how."""

    kind: str
    description: str
    env: Mapping[str, str]
    outputs: Mapping[str, object]

    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def activate(self) -> None:
        """Export the variables client libraries read (the storage emulator)."""
        for key in (c.ENV_STORAGE_EMULATOR_HOST,):
            if key in self.env:
                os.environ[key] = self.env[key]
            else:
                os.environ.pop(key, None)


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The local platform's state folder.

    The flag, then LLMOPS_STATE_DIR, then the nearest ``.llmops/local`` of a
    running platform in this folder or above it (as git finds its
    repository), then ``.llmops/local`` here.
    """
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_STATE_DIR):
        return Path(os.environ[ENV_STATE_DIR])
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_STATE_DIR / "platform.json").is_file():
            return folder / DEFAULT_STATE_DIR
    return DEFAULT_STATE_DIR


def local_target(folder: Path) -> Target:
    """The running local platform whose state is in ``folder``."""
    record = folder / "platform.json"
    if not record.exists():
        raise ConfigError(
            f"no local platform is running under {folder.resolve()} (no "
            "platform.json); if one runs elsewhere, pass --state-dir DIR or set "
            f"{ENV_STATE_DIR} to its folder; otherwise start one with "
            "`llmops local up`, or pass --stack-outputs FILE to use a cloud stack"
        )
    try:
        state = json.loads(record.read_text())
        env = dict(state["env"])
    except (ValueError, TypeError, KeyError, OSError) as error:
        raise ConfigError(
            f"{record} is unreadable ({type(error).__name__}); wait a second and "
            f"retry (a running platform rewrites it), or stop the platform with "
            f"`llmops local down --state-dir {folder}`"
        ) from None
    supervisor = state.get("supervisor") if isinstance(state, dict) else None
    if isinstance(supervisor, dict) and "pid" in supervisor:
        from llmops.local.processes import alive

        if not alive(int(supervisor["pid"]), supervisor.get("started")):
            raise ConfigError(
                f"the local platform recorded in {record} is not running (its "
                f"supervisor, pid {supervisor['pid']}, has ended); start it again "
                f"with `llmops local up --state-dir {folder}`"
            )
    return Target("local", f"local platform in {folder}", env, {})


def cloud_target(outputs_file: Path) -> Target:
    """A cloud stack, from ``pulumi stack output --json > FILE``."""
    try:
        outputs = json.loads(Path(outputs_file).read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"stack outputs file {outputs_file} does not exist; write it with "
            f"`pulumi stack output --json > {outputs_file}`"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"stack outputs file {outputs_file} is not JSON ({error}); write it "
            "with `pulumi stack output --json`"
        ) from None
    if not isinstance(outputs, dict):
        raise ConfigError(
            f"stack outputs file {outputs_file} must hold a JSON object of outputs, "
            f"got {type(outputs).__name__}; write it with `pulumi stack output --json`"
        )
    missing = [k for k in _OUTPUT_TO_ENV if k not in outputs]
    if missing:
        raise ConfigError(
            f"stack outputs file {outputs_file} lacks {', '.join(missing)}; is it "
            "the output of this project's stack (`pulumi stack output --json`)?"
        )
    env = {var: str(outputs[key]) for key, var in _OUTPUT_TO_ENV.items()}
    env[c.ENV_EMBEDDING_BACKEND] = "vertex"
    env[c.ENV_VECTOR_BACKEND] = "vertex"
    return Target("cloud", f"stack {outputs.get(c.OUTPUT_PROJECT)}", env, outputs)


def resolve(stack_outputs: str | None, state: str | None) -> Target:
    """The cloud stack when its outputs file is given, else the local platform."""
    if stack_outputs:
        return cloud_target(Path(stack_outputs))
    return local_target(state_dir(state))
