"""Write the dashboards: read the ops tables once, render every page, replace the files atomically
(a reader never sees half a page). Plotly's JavaScript is copied beside them, so the pages open
from disk with no server and no network."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly
from plotly.offline import get_plotlyjs

from metrics_assets.dashboards import data, pages
from metrics_assets.oncall.lookup import OnCallLookup
from metrics_core.config import ConfigError, PipelineConfig
from metrics_core.paths import duckdb_path
from metrics_core.team import TeamConfig
from resources.incident_store import IncidentStore


def dashboards_dir() -> Path:
    """Where the pages go: `dashboards/` beside the embedded warehouse file (data/ by default),
    so each warehouse has its own; METRICS_DASHBOARDS_DIR moves it."""
    return Path(os.environ.get("METRICS_DASHBOARDS_DIR", duckdb_path().parent / "dashboards"))


def dashboards_url(out: Path | None = None) -> str:
    """The pages' base URL for links from the Dagster UI: METRICS_DASHBOARDS_URL when they are served
    (`metrics up` serves them beside the UI), else file:// of the directory."""
    return os.environ.get("METRICS_DASHBOARDS_URL") or (out or dashboards_dir()).resolve().as_uri()


@dataclass(frozen=True)
class BuildReport:
    out: Path
    pages: list[Path]
    seconds: float

    def url(self, page: str = "index.html") -> str:
        return dashboards_url(self.out).rstrip("/") + "/" + page


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _plotly_js(out: Path) -> None:
    stamp = out / ".plotly-version"
    if (out / "plotly.min.js").exists() and stamp.exists() and stamp.read_text() == plotly.__version__:
        return
    _write(out / "plotly.min.js", get_plotlyjs())
    _write(stamp, plotly.__version__)


def owner_pages(pipelines: PipelineConfig, team: TeamConfig) -> dict[str, str]:
    """Page name -> e-mail of everyone who owns a pipeline (their team.yaml id when they have one)."""
    out: dict[str, str] = {}
    for pid in pipelines.ids:
        o = pipelines.get(pid).owners
        for email in (o.primary, o.secondary):
            try:
                name = team.person(email).id
            except ConfigError:
                name = re.sub(r"[^A-Za-z0-9_-]+", "-", email)
            out.setdefault(name, email)
    return out


def on_call(now: datetime) -> tuple[data.OnCallNow | None, str | None]:
    try:
        o = OnCallLookup.from_config().who(now if now.tzinfo else now.replace(tzinfo=UTC))
    except (ConfigError, ValueError) as exc:
        return None, str(exc)
    return data.OnCallNow(o.primary, o.backup, o.block_start, o.block_end, o.override_reason), None


def open_incidents(store_path: Path | None = None) -> list:
    with IncidentStore.open(store_path) as store:
        return store.open_incidents()


def build(
    cur: Any,
    pipelines: PipelineConfig,
    team: TeamConfig,
    now: datetime,
    out: Path | None = None,
    incidents: list | None = None,
    oncall: tuple[data.OnCallNow | None, str | None] | None = None,
) -> BuildReport:
    """Render every page from the warehouse cursor `cur` as of `now` into `out`."""
    t0 = time.perf_counter()
    out = out or dashboards_dir()
    who, problem = oncall if oncall is not None else on_call(now)
    d = data.load(
        cur, pipelines, team, now, open_incidents() if incidents is None else incidents, who, problem
    )
    owners = owner_pages(pipelines, team)
    rendered = {
        "index.html": pages.overview(d),
        "freshness.html": pages.freshness(d),
        "budget.html": pages.budget(d),
        "contracts.html": pages.contracts(d),
        "owners/index.html": pages.owners_index(d, owners),
        **{f"owners/{pid}.html": pages.owner(d, pid, email) for pid, email in owners.items()},
    }
    _plotly_js(out)
    written = []
    for name, text in rendered.items():
        _write(out / name, text)
        written.append(out / name)
    return BuildReport(out, written, time.perf_counter() - t0)
