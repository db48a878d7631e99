"""Source-contract checks on the raw layer: one `source_contract` check per contracted source.

The contract itself (columns, types, nullability, keys) is pandera (checks/contracts.py) built
from metrics_assets/sources.py; this module runs it for each day of the window and turns its
findings into per-day results whose message names the table, the column and the change.
"""

from __future__ import annotations

from datetime import date

from checks.core import DayResult, EvalContext, implements, to_date
from checks.registry import catalogue
from checks.sql import window
from metrics_assets.sources import SOURCES, Source


def _contract_findings(ctx: EvalContext, source: Source, days: list[date]) -> dict[date | None, list[str]]:
    """Findings keyed by day (None = table-level, e.g. a renamed or retyped column)."""
    lo, hi = window(days)
    try:
        from checks import contracts
    except ImportError:  # pragma: no cover - until the pandera contracts land
        contracts = None
    if contracts is not None and hasattr(contracts, "check_source"):
        return contracts.check_source(ctx.warehouse, source.name, lo, hi)
    return _sql_findings(ctx, source, lo, hi)


def _sql_findings(ctx: EvalContext, source: Source, lo, hi) -> dict[date | None, list[str]]:
    """Columns and types from information_schema, nulls and key duplicates per day, in SQL."""
    cols = ctx.df(
        "select lower(column_name) as name, upper(data_type) as type from information_schema.columns "
        "where lower(table_schema) = 'raw' and lower(table_name) = ?",
        [source.name],
    )
    if cols.empty:
        return {None: [f"{source.table}: table is missing"]}
    have = dict(zip(cols["name"], cols["type"], strict=True))
    out: dict[date | None, list[str]] = {None: []}
    for c in source.columns:
        if c.name not in have:
            out[None].append(f"{source.table}.{c.name}: column missing (renamed or dropped)")
        elif have[c.name].replace(" ", "") != c.type.replace(" ", ""):
            out[None].append(f"{source.table}.{c.name}: type changed from {c.type} to {have[c.name]}")
    extra = sorted(set(have) - {c.name for c in source.columns})
    out[None] += [f"{source.table}.{x}: unexpected new column ({have[x]})" for x in extra]
    if out[None] or source.partition_column not in have:
        return out
    required = [c.name for c in source.columns if not c.nullable]
    nulls = ", ".join(f"sum(case when {c} is null then 1 else 0 end) as {c}" for c in required)
    pk = ", ".join(source.primary_key)
    frame = ctx.df(
        f"select cast({source.partition_column} as date) as day, {nulls} from {source.table} "
        f"where {source.partition_column} >= ? and {source.partition_column} < ? group by 1",
        [lo, hi],
    )
    for row in frame.to_dict("records"):
        d = to_date(row.pop("day"))
        out.setdefault(d, []).extend(
            f"{source.table}.{k}: {int(v)} null value(s) in a non-nullable column"
            for k, v in row.items()
            if v
        )
    if pk:
        dups = ctx.df(
            f"select cast({source.partition_column} as date) as day, count(*) as n from ("
            f"select min({source.partition_column}) as {source.partition_column} from {source.table} "
            f"where {source.partition_column} >= ? and {source.partition_column} < ? "
            f"group by {pk} having count(*) > 1) k group by 1",
            [lo, hi],
        )
        for row in dups.to_dict("records"):
            out.setdefault(to_date(row["day"]), []).append(
                f"{source.table}: {int(row['n'])} duplicated key(s) ({pk})"
            )
    return out


def _make(source: Source):
    def _check(ctx: EvalContext, days: list[date]) -> list[DayResult]:
        findings = _contract_findings(ctx, source, days)
        table_level = findings.get(None, [])
        out = []
        for d in days:
            problems = table_level + findings.get(d, [])
            out.append(
                DayResult(
                    d,
                    not problems,
                    value=len(problems),
                    threshold=0,
                    message=(
                        "; ".join(problems[:10])
                        + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else "")
                    )
                    if problems
                    else f"{source.table} matches its contract on {d}",
                    details={"violations": problems[:50]} if problems else {},
                )
            )
        return out

    _check.__name__ = f"source_contract_{source.name}"
    return _check


for _c in catalogue().checks:
    if _c.name == "source_contract":
        implements(_c.asset, _c.name)(_make(SOURCES[_c.asset.split("/", 1)[1]]))
