"""`metrics dashboards build`: the owners' ops dashboards from the ops tables, as static pages.

Reads the warehouse (under its lock, briefly), the alerting store and the on-call schedule;
imports no Dagster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    b = sub.add_parser(
        "build",
        help="write Ops Overview, Freshness & Lag, Error Budget Burn, "
        "Schema Contracts and one page per owner",
    )
    b.add_argument("--out", type=Path, default=None, help="directory (default: data/dashboards)")
    b.add_argument("--now", default=None, help="as of this UTC instant (default: the wall clock)")
    b.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    # deferred: `metrics dashboards --help` imports argparse only
    from metrics_assets.dashboards.build import build
    from metrics_core.config import ConfigError, pipeline_config
    from metrics_core.run_clock import RunClockError, parse_now, wall_clock
    from metrics_core.team import team_config
    from resources.connections import connect

    try:
        now = parse_now(args.now) if args.now else wall_clock()
        cfg, team = pipeline_config(), team_config()
    except (ConfigError, RunClockError) as exc:
        print(f"metrics dashboards: {exc}", file=sys.stderr)
        return 2
    with connect("metrics dashboards") as con:
        report = build(con.cursor(), cfg, team, now, args.out)
    print(f"{len(report.pages)} pages in {report.out} ({report.seconds:.2f} s); open {report.url()}")
    return 0
