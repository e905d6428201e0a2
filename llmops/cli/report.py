"""``llmops report``: the monitoring views as one offline HTML file, and a summary."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import click

from llmops import runtime
from llmops.cli._options import target_from, target_options
from llmops.monitoring import PriceTable, summary, write_report
from llmops.monitoring.prices import ENV_PRICES_FILE

DEFAULT_OUT = Path(".llmops") / "report.html"
_DAYS = re.compile(r"^(\d{1,4})d$")


def parse_since(text: str, today: dt.date | None = None) -> dt.date:
    """``YYYY-MM-DD`` or ``Nd`` (N days back from today, UTC)."""
    today = today or dt.datetime.now(dt.UTC).date()
    match = _DAYS.match(text)
    if match:
        return today - dt.timedelta(days=int(match.group(1)))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a date (2026-11-01) nor a number of days (7d)"
        ) from None


@click.command("report")
@click.option("--since", default="30d", show_default=True, help="YYYY-MM-DD or Nd.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Where to write the HTML report.",
)
@click.option(
    "--prices",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help=f"Price table (YAML) for the cost estimate (or ${ENV_PRICES_FILE}).",
)
@target_options
def command(
    since: str,
    out: Path,
    prices: str | None,
    stack_outputs: str | None,
    state_dir: str | None,
) -> None:
    """Write the monitoring report (one HTML file, opens offline) and summarise it."""
    start = parse_since(since)
    target = target_from(stack_outputs, state_dir)
    price_file = prices or os.environ.get(ENV_PRICES_FILE)
    table = PriceTable.load(price_file) if price_file else PriceTable.default()
    data = write_report(
        runtime.table_store(target.settings()),
        out,
        since=start,
        prices=table,
        target=target.description,
    )
    click.echo(summary(data))
    click.echo(f"report: {out.resolve()}")
