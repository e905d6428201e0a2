"""``llmops local``: run the embedded default on this machine.

``up`` returns once every part answers and leaves the platform running under
its supervisor (until ``down``, or its time to live); ``down`` stops it and
every process it started; ``status`` says what runs.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import click

from llmops import targets
from llmops.local import snapshot
from llmops.local.platform import ENV_STATE_DIR, LocalPlatform
from llmops.local.state import DEFAULT_STATE_DIR, DEFAULT_TTL_SECONDS

_state_dir = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=(
        "Folder of the platform's state, logs and data (default: env "
        f"{ENV_STATE_DIR}, else the nearest {DEFAULT_STATE_DIR} of a running "
        "platform here or above, else ./.llmops/local)."
    ),
    callback=lambda _ctx, _param, value: targets.state_dir(value),
)


@click.group(name="local")
def command() -> None:
    """Run the platform on this machine: emulators, Milvus Lite, the function."""


@command.command()
@_state_dir
@click.option(
    "--function-source",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The functions-framework module to serve (default: functions/ingest/main.py).",
)
@click.option(
    "--no-function",
    is_flag=True,
    help="Serve no function; storage events are not relayed.",
)
@click.option(
    "--ttl",
    "ttl_seconds",
    type=click.FloatRange(min=1),
    default=DEFAULT_TTL_SECONDS,
    show_default=True,
    help="Seconds after which the platform stops by itself.",
)
@click.option("--json", "as_json", is_flag=True, help="Print platform.json instead.")
def up(
    state_dir: Path,
    function_source: Path | None,
    no_function: bool,
    ttl_seconds: float,
    as_json: bool,
) -> None:
    """Start the platform (or reuse a running one) and print its environment."""
    started = time.monotonic()
    # Without either flag the platform serves the repository's function.
    source: dict[str, Path | None] = {}
    if no_function:
        source["function_source"] = None
    elif function_source is not None:
        source["function_source"] = function_source
    platform = LocalPlatform(
        state_dir, ttl_seconds=ttl_seconds, stop_with_parent=False, **source
    )
    platform.start()
    if as_json:
        click.echo(json.dumps(platform.info, indent=2, sort_keys=True))
        return
    # What a person reads goes to stderr; stdout holds only the `export`
    # lines, so that `eval "$(llmops local up)"` points a shell at it.
    verb = "reused the platform running" if platform.reused else "started the platform"
    click.echo(
        f"{verb} in {platform.state.root} ({time.monotonic() - started:.1f} s); "
        f"it stops by itself at {platform.info['expires_at']}",
        err=True,
    )
    if platform.info.get("started_empty_after_crash") and not platform.reused:
        click.echo(
            "  warning: the platform did not stop cleanly last time, so nothing "
            "was saved: storage and index start empty (documents and prompt "
            "templates must be uploaded again; monitoring rows are kept)",
            err=True,
        )
    restored = platform.info.get("restored_objects", 0)
    if restored and not platform.reused:
        click.echo(
            f"  restored {restored} objects (documents, chunk text, prompt "
            "templates) saved when the platform last stopped",
            err=True,
        )
    for name, url in sorted(platform.info["endpoints"].items()):
        if isinstance(url, dict):
            for event_type, function_url in sorted(url.items()):
                click.echo(
                    f"  function {event_type.rsplit('.', 1)[-1]:<10} {function_url}",
                    err=True,
                )
        else:
            click.echo(f"  {name:<19} {url}", err=True)
    click.echo('# point a shell at it: eval "$(llmops local up)"', err=True)
    for key, value in sorted(platform.env().items()):
        click.echo(f"export {key}={shlex.quote(value)}")


@command.command()
@_state_dir
def down(state_dir: Path) -> None:
    """Stop the platform and every process it started.

    The storage emulator's objects are saved under the state folder first, so
    the next `local up` starts with the same documents, index and prompt
    registry.
    """
    platform = LocalPlatform(state_dir, function_source=None)
    stopped = platform.stop()
    if not stopped:
        click.echo(f"nothing was running in {platform.state.root}")
        return
    for part in stopped:
        click.echo(f"stopped {part.name} (pid {part.pid})")
    saved = platform.state.root / "storage"
    if snapshot.exists(saved):
        click.echo(
            f"saved {len(snapshot.names(saved))} objects (documents, chunk text, "
            f"prompt templates) in {saved}; the next `llmops local up` restores them"
        )
    else:
        click.echo(
            "no storage was saved (see the supervisor's log); the next "
            "`llmops local up` starts with storage and index empty"
        )


@command.command()
@_state_dir
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(state_dir: Path, as_json: bool) -> None:
    """Say which parts run, with their pids, ports and logs."""
    report = LocalPlatform(state_dir, function_source=None).status()
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    if not report["parts"]:
        click.echo(f"no platform in {report['state_dir']}")
        last = LocalPlatform(state_dir, function_source=None).last_stop()
        if last:
            saved = last.get("saved_objects")
            click.echo(
                f"  it stopped at {last.get('stopped_at')} ({last.get('reason')}); "
                + (
                    f"{saved} objects saved for the next `llmops local up`"
                    if saved is not None
                    else "nothing was saved"
                )
            )
        raise SystemExit(1)
    state = "running" if report["running"] else "degraded"
    click.echo(f"{state} in {report['state_dir']}, until {report['expires_at']}")
    for name, part in sorted(report["parts"].items()):
        health = "up" if part["alive"] else "DOWN"
        port = f"port {part['port']}" if part.get("port") else ""
        click.echo(f"  {name:<19} {health:<5} pid {part['pid']:<8} {port}")
        if not part["alive"]:
            click.echo(f"    see {part['log']}")
    if not report["running"]:
        raise SystemExit(1)
