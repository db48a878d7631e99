"""`metrics faults list | inject | revert | history`: named faults in the embedded warehouse's raw layer.

Faults exist to prove the checks catch what they are for (metrics_assets/generator/faults.py);
they only run on the
local DuckDB warehouse (METRICS_DUCKDB_PATH), never on Snowflake.
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from datetime import date
from typing import Any


def register(p: argparse.ArgumentParser) -> None:
    fsub = p.add_subparsers(dest="faults_command", required=True)

    ls = fsub.add_parser("list", help="every fault, the failure mode it targets and its parameters")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=run_list)

    inj = fsub.add_parser("inject", help="apply a fault to the raw layer for one day")
    inj.add_argument("fault", help="fault name (see `metrics faults list`)")
    inj.add_argument("--day", type=date.fromisoformat, required=True, help="partition day, YYYY-MM-DD")
    inj.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="override a parameter, e.g. -p share=0.5 -p table=app_events")
    inj.set_defaults(func=run_inject)

    rev = fsub.add_parser("revert", help="undo injections, newest first (all un-reverted ones by default)")
    rev.add_argument("fault", nargs="?", default=None)
    rev.add_argument("--day", type=date.fromisoformat, default=None)
    rev.add_argument("--id", type=int, default=None, dest="injection_id")
    rev.set_defaults(func=run_revert)

    hist = fsub.add_parser("history", help="recorded injections")
    hist.set_defaults(func=run_history)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"--param {pair!r}: expected KEY=VALUE")
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@contextmanager
def _connect():
    """The embedded warehouse under its lock: waits for a running job, then says who holds it."""
    # deferred: `metrics faults --help` must not import Dagster
    from metrics_core.paths import duckdb_path
    from resources.connections import backend_from_env, connect_duckdb
    from resources.warehouse_lock import WarehouseBusy, hold

    if backend_from_env() != "duckdb":
        raise SystemExit("fault injection runs only on the embedded DuckDB warehouse "
                         "(METRICS_WAREHOUSE=duckdb)")
    try:
        with hold(duckdb_path(), what="metrics faults"):
            con = connect_duckdb(str(duckdb_path()))
            try:
                yield con
            finally:
                con.close()
    except WarehouseBusy as exc:
        raise SystemExit(f"error: {exc}") from None


def run_list(args: argparse.Namespace) -> int:
    # deferred: `metrics faults --help` must not import Dagster
    from metrics_assets.generator.faults import FAULTS

    rows = [{"fault": f.name, "failure_mode": f.mode(), "stage": f.stage, "description": f.description,
             "params": f.defaults} for f in FAULTS.values()]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        params = " ".join(f"{k}={v}" for k, v in r["params"].items())
        stage = " [after build]" if r["stage"] != "raw" else ""
        print(f"{r['fault']:24s} {r['failure_mode']:32s} {r['description']}{stage}")
        if params:
            print(f"{'':24s} {'':32s}   params: {params}")
    return 0


def run_inject(args: argparse.Namespace) -> int:
    # deferred: `metrics faults --help` must not import Dagster
    from metrics_assets.generator.faults import inject

    params = parse_params(args.param)
    with _connect() as con:
        try:
            res = inject(con, args.fault, args.day, **params)
        except ValueError as exc:
            raise SystemExit(f"error: {exc}") from None
    print(f"injection {res.injection_id}: {res.fault} -> {res.failure_mode} on {res.day}: {res.detail}")
    print(f"undo with: metrics faults revert --id {res.injection_id}")
    return 0


def run_revert(args: argparse.Namespace) -> int:
    # deferred: `metrics faults --help` must not import Dagster
    from metrics_assets.generator.faults import revert

    with _connect() as con:
        done = revert(con, args.fault, args.day, args.injection_id)
    print(f"reverted injection(s) {done}" if done else "nothing to revert")
    return 0


def run_history(args: argparse.Namespace) -> int:
    # deferred: `metrics faults --help` must not import Dagster
    from metrics_assets.generator.faults import FAULT_SCHEMA, _ensure_ops

    with _connect() as con:
        _ensure_ops(con)
        rows = con.execute(f"SELECT injection_id, fault, failure_mode, day, detail, injected_at, reverted_at "
                           f"FROM {FAULT_SCHEMA}.injections ORDER BY injection_id").fetchall()
    for iid, fault, mode, day, detail, _at, rev in rows:
        state = f"reverted {rev:%Y-%m-%d %H:%M}" if rev else "ACTIVE"
        print(f"{iid:4d} {day} {fault:24s} {mode:32s} {state:24s} {detail}")
    return 0
