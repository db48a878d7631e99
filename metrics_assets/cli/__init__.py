"""`metrics` command line: one entry point, one module per command family.

The top level knows only the families' names and one-line help, so `metrics --help` imports
nothing but argparse; `metrics <family> ...` imports that family's module alone and lets it
build its parser.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NamedTuple


class Family(NamedTuple):
    module: str
    help: str


FAMILIES = {
    "up": Family("metrics_assets.cli.up",
                 "generate + materialize the last N days, print a summary, start the UI"),
    "oncall": Family("metrics_assets.cli.oncall",
                     "on-call rotation: generate, replan, report, table, ics, who"),
    "incidents": Family("metrics_assets.cli.incidents",
                        "list, show, acknowledge and resolve alert incidents"),
    "checks": Family("metrics_assets.cli.checks", "runbook checks (asset checks) outside Dagster"),
    "status": Family("metrics_assets.cli.status",
                     "investor tables fresh now or late, SLO attainment and error budget left"),
    "dashboards": Family("metrics_assets.cli.dashboards",
                         "build the ops dashboards (overview, freshness, error budget, contracts, owners)"),
    "faults": Family("metrics_assets.cli.faults",
                     "list, inject or revert named faults in the raw layer (DuckDB only)"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metrics", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(FAMILIES) + "}")
    for name, family in FAMILIES.items():
        sub.add_parser(name, help=family.help, add_help=False)
    return parser


def build_parser(family: str) -> argparse.ArgumentParser:
    """The full parser of one command family (its module imported, no other)."""
    parser = argparse.ArgumentParser(prog="metrics")
    sub = parser.add_subparsers(dest="command", required=True)
    spec = FAMILIES[family]
    family_parser = sub.add_parser(family, help=spec.help, description=spec.help)
    importlib.import_module(spec.module).register(family_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in FAMILIES:
        _top_parser().parse_args(argv)  # prints help or the usage error, and exits
    args = build_parser(argv[0]).parse_args(argv)
    return int(args.func(args) or 0)
