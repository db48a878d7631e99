"""`metrics incidents list|show|ack|resolve`: look at and act on alert incidents from a shell.

Acks and resolutions go through the AlertEngine, so they are stored in the operational store
(data/ops.sqlite, resources/incident_store.py) with their time and forwarded to the
configured channels (PagerDuty acknowledge/resolve).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from metrics_assets.alerting.clock import FakeClock, SystemClock
from metrics_assets.alerting.runtime import AlertRuntime, RoleFallbackLookup
from metrics_core.paths import ops_store_path
from resources.incident_store import IncidentStore


def _runtime(args: argparse.Namespace) -> AlertRuntime:
    store = Path(args.store) if args.store else ops_store_path()
    at = getattr(args, "at", None)
    # ack/resolve never page, so the rotation is not needed here
    return AlertRuntime(
        clock=FakeClock(at) if at else SystemClock(),
        store_path=lambda: store, lookup=lambda roles, s: RoleFallbackLookup(roles.platform_lead, "cli"),
    )


def _instant(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--at {text!r} needs a UTC offset, e.g. 2026-03-04T10:05+05:30")
    return t


def _fmt(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC") if t else "-"


def _list(args: argparse.Namespace) -> int:
    with IncidentStore.open(_runtime(args).store_path()) as store:
        rows = store.open_incidents() if args.status == "open" else store.list(
            None if args.status == "all" else args.status, limit=args.limit)
    if not rows:
        print("no incidents")
        return 0
    print(f"{'id':<10}{'status':<10}{'sev':<7}{'pipeline':<16}{'kind':<13}{'days':<24}{'opened':<25}seen")
    for i in rows:
        print(f"{i.id:<10}{i.status.value:<10}{i.severity:<7}{i.pipeline:<16}{i.kind.value:<13}"
              f"{(i.partition or '-'):<24}{_fmt(i.opened_at):<25}{i.occurrences}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with IncidentStore.open(_runtime(args).store_path()) as store:
        inc = store.get(args.incident_id)
        if inc is None:
            print(f"no incident {args.incident_id!r}", file=sys.stderr)
            return 2
        events = store.events(inc.id)
    print(f"{inc.id}  {inc.summary}")
    print(f"  status {inc.status.value}  severity {inc.severity}  pipeline {inc.pipeline}"
          f"  kind {inc.kind.value}  days {inc.partition or '-'}")
    print(f"  opened {_fmt(inc.opened_at)}  pages from {_fmt(inc.page_start)}  occurrences {inc.occurrences}")
    print(f"  owners {inc.primary_owner} (primary), {inc.secondary_owner} (incident commander)")
    print(f"  failing: {', '.join(inc.subjects) or '-'}")
    if inc.acked_at:
        print(f"  acked {_fmt(inc.acked_at)} by {inc.acked_by}")
    if inc.resolved_at:
        print(f"  resolved {_fmt(inc.resolved_at)} by {inc.resolved_by}: {inc.resolution}")
    print("  timeline:")
    for e in events:
        who = f" -> {e.recipient}" if e.recipient else ""
        lvl = f" [{e.level}]" if e.level else ""
        via = f" via {e.channel}" if e.channel else ""
        print(f"    {_fmt(e.at)}  {e.event}{lvl}{who}{via}  {e.detail or ''}".rstrip())
    return 0


def _act(args: argparse.Namespace) -> int:
    try:
        with _runtime(args).engine() as engine:
            if args.action == "ack":
                inc = engine.ack(args.incident_id, by=args.by)
            else:
                inc = engine.resolve(args.incident_id, by=args.by, reason=args.reason)
    except (KeyError, ValueError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    print(f"{inc.id} {inc.status.value} by {args.by}")
    return 0


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="incidents_command", required=True)

    def common(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--store", help="operational store, SQLite (default: $METRICS_OPS_STORE or "
                        "data/ops.sqlite)")
        return sp

    ls = common(sub.add_parser("list", help="incidents (default: not yet resolved)"))
    ls.add_argument("--status", default="open",
                    choices=["open", "all", "deferred", "acked", "resolved"])
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=_list)

    show = common(sub.add_parser("show", help="one incident with its full timeline"))
    show.add_argument("incident_id")
    show.set_defaults(func=_show)

    ack = common(sub.add_parser("ack", help="acknowledge: stops the escalation ladder"))
    ack.add_argument("incident_id")
    ack.add_argument("--by", required=True, help="who acknowledges (e-mail)")
    ack.add_argument("--at", type=_instant, default=None,
                     help="when it was acknowledged, ISO-8601 with offset (default: now)")
    ack.set_defaults(func=_act, action="ack")

    res = common(sub.add_parser("resolve", help="resolve: stops all escalation"))
    res.add_argument("incident_id")
    res.add_argument("--by", required=True, help="who resolves (e-mail)")
    res.add_argument("--reason", default="resolved by hand")
    res.add_argument("--at", type=_instant, default=None, help="when it was resolved (default: now)")
    res.set_defaults(func=_act, action="resolve")
