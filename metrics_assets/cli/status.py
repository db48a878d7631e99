"""`metrics status`: each investor pipeline's owners, whether its tables are fresh now or late by
how much, and each SLO's attainment and error budget left, in the terminal.

Reads the warehouse's publication records (the same rules as ops.slo_daily and ops.slo_attainment,
metrics_core/slo.py) as of `--now`; imports no Dagster.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from checks.settings import check_settings
from metrics_assets.publication.slo_tables import TableSlo, evaluate
from metrics_core.config import ConfigError, pipeline_config
from metrics_core.owners import owner_display, owner_refs_of
from metrics_core.run_clock import RunClockError, parse_now, wall_clock
from metrics_core.slo import Attainment
from metrics_core.team import team_config
from resources.connections import connect


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--owner", default=None,
                   help="only pipelines this owner owns: a person (e-mail or team.yaml person id; "
                   "their teams' pipelines too) or team:<id>")
    p.add_argument("--pipeline", action="append", default=None, help="only this pipeline (repeatable)")
    p.add_argument("--now", default=None, help="as of this UTC instant (default: the wall clock)")
    p.set_defaults(func=cmd_status)


def _fresh_now(st: TableSlo, now: datetime) -> str:
    """The newest due day: published on time, late by how much, or not yet published."""
    due = [(r, j) for r, j in zip(st.records, st.judged, strict=True) if j.due]
    if not due:
        return "no day due yet"
    r, j = due[-1]
    if r.first_published_at is None:
        late = (now - r.deadline).total_seconds() / 60
        return f"{r.day} NOT PUBLISHED, {late:.0f} min past its {r.deadline:%H:%M} UTC deadline"
    how = "" if r.first_trigger == "schedule" else f" (by a {r.first_trigger} run)"
    if j.lag_minutes is not None and j.lag_minutes > 0:
        return f"{r.day} published {j.lag_minutes:.0f} min after its deadline{how}"
    return f"{r.day} published on time{how}"


def _objective(a: Attainment) -> str:
    if not a.judged:
        return f"{a.objective}: no day judged yet"
    misses = a.judged - a.good
    budget = "" if a.budget_remaining is None else f", budget left {max(a.budget_remaining, 0):.0%}"
    flag = "" if a.met else "  MISSED"
    return (f"{a.objective} {a.attainment:.1%} of {a.judged} d (target {a.target:.1%}; "
            f"{misses} missed, {a.budget_days:.1f} allowed{budget}){flag}")


def cmd_status(args: argparse.Namespace) -> int:
    try:
        now = parse_now(args.now) if args.now else wall_clock()
        cfg = pipeline_config()
        pids = list(cfg.ids)
        if args.pipeline:
            for pid in args.pipeline:
                cfg.get(pid)  # an unknown id is named
            pids = [p for p in pids if p in args.pipeline]
        team = team_config()
        if args.owner:
            refs = owner_refs_of(args.owner, team)
            pids = [p for p in pids if refs & {cfg.get(p).owners.primary, cfg.get(p).owners.secondary}]
    except (ConfigError, RunClockError) as exc:
        print(f"metrics status: {exc}", file=sys.stderr)
        return 2
    schema = check_settings().publication.schema_
    with connect("metrics status") as con:
        states = evaluate(con.cursor(), cfg, now, schema)
    print(f"status as of {now:%Y-%m-%d %H:%M} UTC")
    if args.owner and not pids:
        print(f"\nno pipeline{' of --pipeline' if args.pipeline else ''} is owned by {args.owner} "
              "(directly or through a team)")
    for pid in pids:
        p = cfg.get(pid)
        owners = ", ".join(owner_display(o, team) for o in (p.owners.primary, p.owners.secondary))
        print(f"\n{pid} ({p.audience.value}) owners {owners}")
        mine = [st for st in states if st.pipeline == pid]
        if not mine:
            print("  no daily investor table (no freshness SLO)")
        for st in mine:
            print(f"  {st.table}: {_fresh_now(st, now)}")
            for a in st.attainments:
                print(f"    {_objective(a)}")
    return 0
