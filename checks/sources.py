"""Source-contract checks on the raw layer: one `source_contract` check per contracted source.

The contract itself (columns, types, nullability, keys) is pandera (checks/contracts.py) built
from metrics_assets/sources.py; this module runs it for each day of the window and turns its
findings into per-day results whose message names the table, the column and the change.
"""

from __future__ import annotations

from datetime import date

from checks.core import DayResult, EvalContext, implements
from checks.registry import catalogue
from metrics_assets.sources import SOURCES, Source


def _contract_findings(ctx: EvalContext, source: Source, days: list[date]) -> dict[date | None, list[str]]:
    """The pandera source contract (checks/contracts.py) for every day: schema from
    information_schema, the day's nulls and duplicate keys in SQL, a bounded pandera sample."""
    from checks.contracts import check_source_contract

    cfg = ctx.settings.sources
    sample = cfg.sample_rows if len(days) <= cfg.full_sample_max_days else cfg.long_range_sample_rows
    out: dict[date | None, list[str]] = {}
    with ctx.warehouse.connect() as con:
        for d in days:
            res = check_source_contract(con, source.name, d, sample_rows=sample)
            out[d] = [v.message for v in res.violations]
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
