"""Source-contract checks on the raw layer: one `source_contract` check per contracted source.

The contract itself (columns, types, nullability, keys) is pandera (checks/contracts.py) built
from metrics_core/sources.py; this module runs it for each day of the window and turns its
findings into per-day results whose message names the table, the column and the change.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from checks import contracts
from checks.contracts import check_source_contract
from checks.core import DayResult, EvalContext, implements, to_date
from checks.registry import catalogue
from checks.sql import window
from metrics_core.sources import SOURCES, Source

# messages per day (None: the whole table), and under SCHEMA_KEY the schema differences as records
Findings = dict[date | str | None, list]


def _contract_findings(ctx: EvalContext, source: Source, days: list[date]) -> Findings:
    """The pandera source contract (checks/contracts.py) for every day: schema from
    information_schema, the day's nulls and duplicate keys in SQL, a bounded pandera sample."""

    cfg = ctx.settings.sources
    if len(days) > cfg.full_sample_max_days:
        return _range_findings(ctx, source, days)
    out: Findings = {}
    with ctx.warehouse.connect() as con:
        for d in days:
            res = check_source_contract(con, source.name, d, sample_rows=cfg.sample_rows)
            out[d] = [v.message for v in res.violations]
            out.setdefault(SCHEMA_KEY, _schema_changes(res.violations))  # the same every day
    return out


STRUCTURAL = ("missing_table", "missing_column", "renamed_column", "type_changed")
# what the table's shape differs from its contract by (the Schema Contracts dashboard lists these)
SCHEMA_KINDS = (*STRUCTURAL, "extra_column", "nullability_changed")
SCHEMA_KEY = "schema"


def _schema_changes(violations) -> list[dict[str, str | None]]:
    return [{"kind": v.kind, "column": v.column, "message": v.message}
            for v in violations if v.kind in SCHEMA_KINDS]


def _range_findings(ctx: EvalContext, source: Source, days: list[date]) -> Findings:
    """The same contract for a long range (backfill, CI year) in a fixed number of queries: the
    schema once, nulls and duplicate keys grouped by day in SQL, pandera on a per-day sample."""

    t, pc = source.table, source.partition_column
    lo, hi = window(days)
    out: Findings = {}
    with ctx.warehouse.connect() as con:
        actual = contracts.actual_columns(con, t)
    viol = contracts.schema_violations(source, actual)
    out[None] = [v.message for v in viol]
    out[SCHEMA_KEY] = _schema_changes(viol)
    if any(v.kind in STRUCTURAL for v in viol) or pc not in {a["name"] for a in actual}:
        return out
    required = [c.name for c in source.columns if not c.nullable]
    nulls = ctx.df(
        f"select cast({pc} as date) as day, "
        + ", ".join(f"count(*) - count({c}) as {c}" for c in required)
        + f" from {t} where {pc} >= ? and {pc} < ? group by 1",
        [lo, hi],
    )
    for row in nulls.to_dict("records"):
        d = to_date(row.pop("day"))
        for c, n in row.items():
            if n:
                what = "key column" if c in source.primary_key else "non-nullable column"
                out.setdefault(d, []).append(f"{t}.{c}: {int(n)} NULL value(s) in {what} on {d}")
    if source.primary_key:
        keys = ", ".join(source.primary_key)
        dups = ctx.df(
            f"select day, count(*) as dup_keys, sum(n - 1) as extra from ("
            f"select cast(min({pc}) as date) as day, count(*) as n from {t} where {pc} >= ? and {pc} < ? "
            f"group by {keys} having count(*) > 1) k group by 1",
            [lo, hi],
        )
        for r in dups.to_dict("records"):
            d = to_date(r["day"])
            out.setdefault(d, []).append(
                f"{t}.{'+'.join(source.primary_key)}: {int(r['dup_keys'])} duplicated key value(s) "
                f"({int(r['extra'])} extra row(s)) on {d}"
            )
    sample = ctx.df(
        f"select * from {t} where {pc} >= ? and {pc} < ? "
        f"qualify row_number() over (partition by cast({pc} as date) order by {pc}) <= ?",
        [lo, hi, ctx.settings.sources.long_range_sample_rows],
    )
    if not sample.empty and contracts.sample_violations(source, sample, []):
        sample_day = pd.to_datetime(sample[pc]).dt.date
        for d, grp in sample.groupby(sample_day):
            already = [contracts.Violation("duplicate_key", None, "")] if d in out else []
            found = contracts.sample_violations(source, grp.reset_index(drop=True), already)
            out.setdefault(d, []).extend(v.message for v in found)
    return out


def _make(source: Source):
    def _check(ctx: EvalContext, days: list[date]) -> list[DayResult]:
        findings = _contract_findings(ctx, source, days)
        table_level = findings.get(None, [])
        schema = findings.get(SCHEMA_KEY, [])
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
                    details=({"violations": problems[:50], "schema_changes": schema} if problems else {}),
                )
            )
        return out

    _check.__name__ = f"source_contract_{source.name}"
    return _check


for _c in catalogue().checks:
    if _c.name == "source_contract":
        implements(_c.asset, _c.name)(_make(SOURCES[_c.asset.split("/", 1)[1]]))
