"""The short per-pipeline summary printed after `metrics up`: partitions materialized, latest values."""

from __future__ import annotations

import numbers
from datetime import date

import dagster as dg

from metrics_assets.orchestration.partitions import days_in, partition_key
from metrics_core.config import pipeline_config
from resources.warehouse import Warehouse


def pipeline_assets(defs: dg.Definitions, pipeline_id: str) -> list[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys() if graph.get(k).tags.get("pipeline") == pipeline_id]


def materialized_days(instance: dg.DagsterInstance, keys: list[dg.AssetKey], start: date, end: date) -> int:
    """Days of [start, end] for which EVERY asset of the pipeline is materialized."""
    wanted = {partition_key(d) for d in days_in(start, end.fromordinal(end.toordinal() + 1))}
    done = set(wanted)
    for key in keys:
        done &= set(instance.get_materialized_partitions(key))
    return len(done)


def headline_days(warehouse: Warehouse, pipeline_id: str, start: date, end: date) -> int | None:
    """Days of [start, end] present in the pipeline's headline table: for an investor pipeline,
    the days actually published (a refused or pending day is materialized but not published)."""
    headline = pipeline_config().get(pipeline_id).headline
    if headline is None:
        return None
    try:
        df = warehouse.query_df(
            f"select count(distinct {headline.date_column}) as n from {headline.table} "
            f"where {headline.date_column} between ? and ?",
            [start, end],
        )
    except Exception:  # noqa: BLE001 - the summary reports, it never fails the run
        return None
    return int(df["n"].iloc[0])


def latest_values(warehouse: Warehouse, pipeline_id: str) -> str:
    headline = pipeline_config().get(pipeline_id).headline
    if headline is None:
        return ""
    cols = ", ".join(headline.columns)
    try:
        df = warehouse.query_df(
            f"select {headline.date_column} as d, {cols} from {headline.table} "
            f"order by {headline.date_column} desc limit 1"
        )
    except Exception as exc:  # noqa: BLE001 - the summary reports, it never fails the run
        return f"(no data: {str(exc).splitlines()[0]})"
    if df.empty:
        return "(no rows)"
    row = df.iloc[0]
    values = ", ".join(f"{c}={_fmt(row[c])}" for c in headline.columns)
    return f"{row['d']}: {values}"


def _fmt(v: object) -> str:
    if isinstance(v, bool) or not isinstance(v, numbers.Number):
        return str(v)
    if isinstance(v, numbers.Integral):
        return f"{v:,}"
    x = float(v)
    return f"{x:,.4f}" if abs(x) < 10 else f"{x:,.2f}"


def print_summary(defs, instance, start: date, end: date, elapsed: float, run_ok: bool) -> None:
    cfg = pipeline_config()
    warehouse = Warehouse.from_env()
    n_days = (end - start).days + 1
    print()
    print(f"Metrics platform: {start} .. {end} ({n_days} days) in {elapsed:,.0f} s -- run "
          f"{'succeeded' if run_ok else 'FAILED (see the Dagster UI)'}")
    print(f"{'pipeline':<16}{'audience':<12}{'built':>9}{'in table':>10}  latest values (headline table)")
    for pid, p in cfg.pipelines.items():
        keys = pipeline_assets(defs, pid)
        days = materialized_days(instance, keys, start, end)
        shown = headline_days(warehouse, pid, start, end)
        shown_text = "-" if shown is None else f"{shown}/{n_days}"
        print(f"{pid:<16}{p.audience.value:<12}{days:>4}/{n_days:<4}{shown_text:>10}  "
              f"{latest_values(warehouse, pid)}")
    print("built: days every asset of the pipeline was materialized; in table: days in its headline "
          "table (for investor pipelines, days published; see ops.publication_log for the rest)")
    print()
