"""The dashboards' charts, drawn with plotly (its JavaScript is written once beside the pages,
so nothing is fetched from a CDN). Each returns an HTML fragment."""

from __future__ import annotations

from datetime import date
from typing import Any

import plotly.graph_objects as go

STATE_COLOURS = {  # the day states of the overview heat map, in legend order
    "on time": "#2e7d32",
    "late": "#ef6c00",
    "not published": "#c62828",
    "backfill": "#78909c",
    "not due": "#e0e0e0",
}
_LAYOUT = {"margin": {"l": 60, "r": 20, "t": 40, "b": 40}, "height": 320, "template": "plotly_white"}


def _html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def day_state(r: dict[str, Any]) -> str:
    if not r["due"]:
        return "not due"
    if r["first_published_at"] is None:
        return "not published"
    if r["first_trigger"] != "schedule":
        return "backfill"
    return "on time" if r["on_time"] else "late"


def day_states(rows_by_table: dict[str, list[dict[str, Any]]], div_id: str = "day-states") -> str:
    """A heat map: one row per investor table, one cell per day, coloured by its freshness state."""
    states = list(STATE_COLOURS)
    tables = list(rows_by_table)
    days = sorted({r["day"] for rows in rows_by_table.values() for r in rows})
    z, text = [], []
    for t in tables:
        by_day = {r["day"]: r for r in rows_by_table[t]}
        z.append([states.index(day_state(by_day[d])) if d in by_day else None for d in days])
        text.append([day_state(by_day[d]) if d in by_day else "" for d in days])
    n = len(states)
    # a discrete scale: each state owns [i/n, (i+1)/n] (rounded, so the stops never step back)
    scale = [[round((i + e) / n, 6), STATE_COLOURS[s]] for i, s in enumerate(states) for e in (0, 1)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=days,
            y=[t.split(".", 1)[-1] for t in tables],
            text=text,
            zmin=-0.5,
            zmax=n - 0.5,
            colorscale=scale,
            xgap=1,
            ygap=2,
            hovertemplate="%{y} %{x}: %{text}<extra></extra>",
            colorbar={"tickvals": list(range(n)), "ticktext": states, "title": "day"},
        )
    )
    fig.update_layout(
        title="Freshness of every day (first publication against the deadline)",
        **{**_LAYOUT, "height": 120 + 40 * max(len(tables), 1)},
    )
    return _html(fig, div_id)


def lag_over_time(
    rows_by_table: dict[str, list[dict[str, Any]]], grace: dict[str, float], div_id: str = "lag"
) -> str:
    """Minutes from deadline to first publication per day, for the days the schedule published
    first; backfilled and manual days are counted in the legend, not drawn (their lag is how late
    someone ran them, not how late the pipeline was)."""
    fig = go.Figure()
    for t, rows in rows_by_table.items():
        sched = [r for r in rows if r["first_trigger"] == "schedule" and r["lag_minutes"] is not None]
        other = sum(1 for r in rows if r["first_trigger"] not in (None, "schedule"))
        name = t.split(".", 1)[-1] + (f" ({other} d by backfill/manual, not drawn)" if other else "")
        fig.add_trace(
            go.Scatter(
                x=[r["day"] for r in sched],
                y=[r["lag_minutes"] for r in sched],
                mode="lines+markers",
                name=name,
            )
        )
    for g in sorted(set(grace.values())):
        fig.add_hline(
            y=g, line_dash="dash", line_color="#c62828", annotation_text=f"deadline + {g:.0f} min grace"
        )
    fig.add_hline(y=0, line_color="#555", line_width=1)
    fig.update_layout(
        title="Lag of the first publication (minutes after the deadline; below 0 is early)",
        yaxis_title="minutes",
        **_LAYOUT,
    )
    return _html(fig, div_id)


def burn_down(series: dict[str, list[tuple[date, float]]], div_id: str = "burn") -> str:
    """Error budget left after each day of the window, per table and objective."""
    fig = go.Figure()
    for name, points in series.items():
        fig.add_trace(
            go.Scatter(x=[d for d, _ in points], y=[v for _, v in points], mode="lines+markers", name=name)
        )
    fig.add_hline(y=0, line_dash="dash", line_color="#c62828", annotation_text="budget spent")
    # an overspent budget can fall to -10,000%; the axis stops at -100% so the healthy lines stay
    # readable, and the table above gives the exact figure
    lowest = min((v for points in series.values() for _, v in points), default=0.0)
    fig.update_layout(
        title="Error budget left over the window (1 = untouched, below 0 = overspent"
        + ("; lines below -100% run off the chart" if lowest < -1 else "") + ")",
        yaxis_tickformat=".0%",
        yaxis_range=[max(lowest, -1.0) - 0.05, 1.05],
        **_LAYOUT,
    )
    return _html(fig, div_id)
