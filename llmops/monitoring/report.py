"""``llmops report``: the monitoring views as one offline HTML file, and a summary.

Each view is read from ``since`` on; each section has a plot (inline SVG drawn
by matplotlib, text kept as text) and the rows behind it. The file loads no
script, font or stylesheet from anywhere: it opens offline.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends.base import TableStore
from llmops.monitoring.prices import PriceTable, usage_cost
from llmops.views import VIEWS

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 30
MAX_TABLE_ROWS = 60
Row = Mapping[str, Any]


@dataclass
class ReportData:
    """What the views held from ``since`` on, and the cost estimate."""

    since: dt.date
    generated: dt.datetime
    views: dict[str, list[dict[str, Any]]]
    cost: list[dict[str, Any]]
    prices: PriceTable
    target: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def rows(self, view: str) -> list[dict[str, Any]]:
        return self.views.get(view, [])


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def collect(
    tables: TableStore,
    *,
    since: dt.date | None = None,
    prices: PriceTable | None = None,
    target: str = "",
) -> ReportData:
    """Read every view (and the cost estimate) from ``since`` on."""
    start = since or (dt.datetime.now(dt.UTC).date() - dt.timedelta(DEFAULT_DAYS))
    table = prices or PriceTable.default()
    found: dict[str, list[dict[str, Any]]] = {}
    for view in VIEWS:
        found[view.name] = tables.query(
            f"SELECT * FROM {{dataset}}.{view.name} WHERE day >= @since ORDER BY day",
            {"since": start},
        )
    cost = usage_cost(tables, table, start)
    logger.info(
        "monitoring.report_collected since=%s views=%d rows=%d",
        start,
        len(found),
        sum(len(rows) for rows in found.values()),
    )
    return ReportData(
        since=start,
        generated=dt.datetime.now(dt.UTC),
        views=found,
        cost=cost,
        prices=table,
        target=target,
    )


# -- Aggregation ---------------------------------------------------------------


def group_label(row: Row) -> str:
    """``use case / template:vN / model`` for one row of a view."""
    template = row.get("template_name")
    version = row.get("template_version")
    named = (
        f"{template}:v{version}"
        if template and version is not None
        else (template or "no template")
    )
    return f"{row.get('use_case') or '-'} / {named} / {row.get('model_name') or '-'}"


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _sum_by(
    rows: Iterable[Row], key: Callable[[Row], str], *columns: str
) -> dict[str, list[float]]:
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(columns))
    for row in rows:
        slot = totals[key(row)]
        for index, column in enumerate(columns):
            slot[index] += _num(row.get(column))
    return dict(sorted(totals.items()))


def _weighted(rows: Iterable[Row], column: str, weight: str) -> dict[str, float]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        if row.get(column) is None:
            continue
        slot = sums[group_label(row)]
        slot[0] += _num(row[column]) * _num(row.get(weight))
        slot[1] += _num(row.get(weight))
    return {k: (v[0] / v[1] if v[1] else 0.0) for k, v in sorted(sums.items())}


# -- Plots ---------------------------------------------------------------------


def _svg(draw: Callable[[Any], None], *, height: float = 3.2) -> str:
    """Draw on a fresh figure (no pyplot state) and return it as inline SVG."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(8.0, height), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        draw(axes)
        out = io.StringIO()
        figure.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg") :]


def _bars(
    series: Mapping[str, Sequence[float]], legends: Sequence[str], ylabel: str
) -> str:
    labels = list(series)

    def draw(axes: Any) -> None:
        count = len(legends)
        width = 0.8 / max(count, 1)
        for index, legend in enumerate(legends):
            positions = [
                n + index * width - 0.4 + width / 2 for n in range(len(labels))
            ]
            axes.barh(
                positions,
                [series[k][index] for k in labels],
                height=width,
                label=legend,
            )
        axes.set_yticks(range(len(labels)), labels)
        axes.invert_yaxis()
        axes.set_xlabel(ylabel)
        if count > 1:
            axes.legend(loc="best")
        axes.grid(axis="x", alpha=0.3)

    return _svg(
        draw, height=max(2.0, 0.5 + 0.45 * len(labels) * max(1, len(legends) / 2))
    )


def _lines(series: Mapping[str, Mapping[dt.date, float]], ylabel: str) -> str:
    # Days as categories: a date axis would put hours between daily points.
    days = sorted({day for points in series.values() for day in points})
    positions = {day: n for n, day in enumerate(days)}

    def draw(axes: Any) -> None:
        for name, points in series.items():
            shown = sorted(points)
            axes.plot(
                [positions[d] for d in shown],
                [points[d] for d in shown],
                marker="o",
                label=name,
            )
        axes.set_xticks(range(len(days)), [d.isoformat() for d in days], rotation=30)
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=0)
        axes.legend(loc="best")
        axes.grid(alpha=0.3)

    return _svg(draw)


# -- Sections ------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One part of the report: a title, a plot and the rows behind it."""

    view: str
    title: str
    plot: str | None
    rows: list[dict[str, Any]]
    note: str = ""


def _feedback(data: ReportData) -> Section:
    rows = data.rows("feedback_daily")
    by_day: dict[str, dict[dt.date, float]] = {"positive": {}, "negative": {}}
    for row in rows:
        for kind, points in by_day.items():
            points[row["day"]] = points.get(row["day"], 0.0) + _num(row[kind])
    plot = _lines(by_day, "feedback rows") if rows else None
    return Section(
        "feedback_daily", "Positive and negative feedback over time", plot, rows
    )


def _response_length(data: ReportData) -> Section:
    rows = data.rows("response_length_daily")
    values = _weighted(rows, "avg_output_chars", "interactions")
    plot = (
        _bars(
            {k: [v] for k, v in values.items()},
            ["characters"],
            "mean response length (characters)",
        )
        if values
        else None
    )
    return Section("response_length_daily", "Response length", plot, rows)


def _turns(data: ReportData) -> Section:
    rows = data.rows("conversation_turns")
    values = _weighted(rows, "avg_turns", "conversations")
    plot = (
        _bars(
            {k: [v] for k, v in values.items()},
            ["turns"],
            "mean turns per conversation",
        )
        if values
        else None
    )
    return Section("conversation_turns", "Turns per conversation", plot, rows)


def _sentiment(data: ReportData) -> Section:
    rows = data.rows("prompt_sentiment_daily")
    totals = _sum_by(rows, group_label, "negative", "neutral", "positive")
    plot = (
        _bars(totals, ["negative", "neutral", "positive"], "prompts")
        if totals
        else None
    )
    return Section("prompt_sentiment_daily", "Prompt sentiment", plot, rows)


def _safety(data: ReportData) -> Section:
    rows = data.rows("safety_attributes_daily")
    totals = _sum_by(
        rows, lambda r: str(r.get("category")), "rated", "triggered", "blocked"
    )
    plot = (
        _bars(totals, ["rated", "triggered", "blocked"], "responses")
        if totals
        else None
    )
    return Section("safety_attributes_daily", "Safety attributes triggered", plot, rows)


def _guardrails(data: ReportData) -> Section:
    rows = data.rows("guardrails_daily")
    totals = _sum_by(
        rows, lambda r: f"{r.get('guardrail')} ({r.get('source')})", "raised"
    )
    plot = _bars(totals, ["raised"], "times raised") if totals else None
    return Section("guardrails_daily", "Guardrails raised", plot, rows)


def _latency(data: ReportData) -> Section:
    rows = data.rows("latency_daily")
    series: dict[str, dict[dt.date, float]] = defaultdict(dict)
    for row in rows:
        series[f"p95 {group_label(row)}"][row["day"]] = _num(row.get("p95_ms"))
        series[f"p50 {group_label(row)}"][row["day"]] = _num(row.get("p50_ms"))
    plot = _lines(dict(sorted(series.items())), "latency (ms)") if rows else None
    return Section("latency_daily", "Latency percentiles", plot, rows)


def _usage(data: ReportData) -> Section:
    rows = data.cost
    totals = _sum_by(rows, group_label, "input_tokens", "output_tokens")
    plot = _bars(totals, ["tokens in", "tokens out"], "tokens") if totals else None
    unpriced = sorted({str(r.get("model_name")) for r in rows if not r.get("priced")})
    note = f"Prices: {data.prices.source} ({data.prices.currency} per million tokens)."
    if unpriced:
        note += f" No price for {', '.join(unpriced)}: their cost is not estimated."
    return Section(
        "usage_daily",
        "Characters and tokens in and out, estimated cost",
        plot,
        rows,
        note,
    )


def _ingestion(data: ReportData) -> Section:
    rows = data.rows("ingestion_health")
    totals = _sum_by(rows, lambda r: str(r.get("status")), "events")
    plot = _bars(totals, ["events"], "storage events") if totals else None
    return Section("ingestion_health", "Ingestion health", plot, rows)


SECTIONS: tuple[Callable[[ReportData], Section], ...] = (
    _feedback,
    _response_length,
    _turns,
    _sentiment,
    _safety,
    _guardrails,
    _latency,
    _usage,
    _ingestion,
)


def sections(data: ReportData) -> list[Section]:
    """Every section of the report, in order."""
    return [build(data) for build in SECTIONS]


# -- Rendering -----------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem;
       color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
section { border-top: 1px solid #ddd; padding-top: 0.5rem; margin-top: 1.5rem; }
table { border-collapse: collapse; font-size: 0.8rem; margin-top: 0.5rem; }
td, th { border: 1px solid #ddd; padding: 0.15rem 0.4rem; text-align: left; }
th { background: #f4f4f4; } .empty { color: #999; } .note { color: #555; }
details { margin-top: 0.4rem; } pre { background: #f7f7f7; padding: 0.6rem; }
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    return html.escape("" if value is None else str(value))


def _table(rows: Sequence[Row]) -> str:
    if not rows:
        return ""
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>"
        for row in rows[:MAX_TABLE_ROWS]
    )
    more = (
        f"<p class=note>{_rows(len(rows) - MAX_TABLE_ROWS)} more not shown.</p>"
        if len(rows) > MAX_TABLE_ROWS
        else ""
    )
    return (
        f"<details><summary>{_rows(len(rows))}</summary><table><tr>{head}</tr>"
        f"{body}</table>{more}</details>"
    )


def render_html(data: ReportData) -> str:
    """The whole report as one self-contained HTML document."""
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<title>llmops monitoring report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Monitoring report</h1>",
        (
            f"<p class=meta>{html.escape(data.target)} &middot; "
            f"since {data.since} &middot; "
            f"generated {data.generated:%Y-%m-%d %H:%M} UTC</p>"
        ),
        f"<pre>{html.escape(summary(data))}</pre>",
    ]
    for section in sections(data):
        parts.append(
            f"<section id={section.view}><h2>{html.escape(section.title)}</h2>"
        )
        if section.note:
            parts.append(f"<p class=note>{html.escape(section.note)}</p>")
        if section.plot:
            parts.append(f"<figure>{section.plot}</figure>")
        else:
            parts.append(
                f"<p class=empty>No rows in {section.view} since {data.since}.</p>"
            )
        parts.append(_table(section.rows))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def summary(data: ReportData) -> str:
    """A few lines for the terminal: the headline numbers of each view."""
    interactions = sum(
        int(_num(r.get("interactions"))) for r in data.rows("response_length_daily")
    )
    feedback = data.rows("feedback_daily")
    positive = sum(int(_num(r.get("positive"))) for r in feedback)
    negative = sum(int(_num(r.get("negative"))) for r in feedback)
    given = sum(int(_num(r.get("feedback_count"))) for r in feedback)
    turns = _weighted(data.rows("conversation_turns"), "avg_turns", "conversations")
    conversations = sum(
        int(_num(r.get("conversations"))) for r in data.rows("conversation_turns")
    )
    sentiment = data.rows("prompt_sentiment_daily")
    scored = sum(_num(r.get("scored")) for r in sentiment)
    mean_sentiment = (
        sum(_num(r.get("avg_sentiment")) * _num(r.get("scored")) for r in sentiment)
        / scored
        if scored
        else 0.0
    )
    latency = data.rows("latency_daily")
    worst = max(latency, key=lambda r: _num(r.get("p95_ms")), default=None)
    triggered = sum(
        int(_num(r.get("triggered"))) for r in data.rows("safety_attributes_daily")
    )
    guardrails = sum(int(_num(r.get("raised"))) for r in data.rows("guardrails_daily"))
    tokens_in = sum(int(_num(r.get("input_tokens"))) for r in data.cost)
    tokens_out = sum(int(_num(r.get("output_tokens"))) for r in data.cost)
    cost = sum(_num(r.get("estimated_cost_usd")) for r in data.cost)
    unpriced = sorted(
        {str(r.get("model_name")) for r in data.cost if not r.get("priced")}
    )
    ingestion = _sum_by(
        data.rows("ingestion_health"), lambda r: str(r.get("status")), "events"
    )

    lines = [
        (
            f"since {data.since}: {interactions} interactions, {given} feedback rows "
            f"(+{positive} / -{negative}"
            + (
                f"; {other} preferences, corrections, comments or neutral ratings)"
                if (other := given - positive - negative)
                else ")"
            )
        ),
        (
            f"conversations {conversations}, mean turns "
            f"{(sum(turns.values()) / len(turns)) if turns else 0:.1f}; "
            f"mean prompt sentiment {mean_sentiment:+.2f}"
        ),
        (
            f"latency p95 worst {_num(worst.get('p95_ms')):.0f} ms "
            f"({group_label(worst)})"
            if worst
            else "latency: no interactions with a latency"
        ),
        f"safety attributes triggered {triggered}; guardrails raised {guardrails}",
        f"tokens in {tokens_in:,}, out {tokens_out:,}; estimated cost "
        f"{cost:.4f} {data.prices.currency}"
        + (f" (no price for {', '.join(unpriced)})" if unpriced else ""),
        "ingestion: "
        + (", ".join(f"{k} {int(v[0])}" for k, v in ingestion.items()) or "no events"),
    ]
    return "\n".join(lines)


def write_report(
    tables: TableStore,
    path: Path | str,
    *,
    since: dt.date | None = None,
    prices: PriceTable | None = None,
    target: str = "",
) -> ReportData:
    """Collect the views and write the HTML report to ``path``."""
    data = collect(tables, since=since, prices=prices, target=target)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(data), encoding="utf-8")
    logger.info("monitoring.report_written path=%s bytes=%d", out, out.stat().st_size)
    return data
