"""`metrics incidents list|show|ack|resolve|rca|rcas|silence|silences|unsilence`: incidents from a shell.

Acks and resolutions go through the AlertEngine, so they are stored in the operational store
(data/ops.sqlite, resources/incident_store.py) with their time and forwarded to the
configured channels (PagerDuty acknowledge/resolve).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metrics_assets.alerting.runtime import AlertRuntime

# The alert runtime (engine, channels -> dagster, the store) is imported inside the commands, not
# here: `register()` builds argparse only, so `metrics incidents --help` stays well under 0.5 s.


def _runtime(args: argparse.Namespace) -> AlertRuntime:
    # deferred: the alert runtime pulls dagster (channels) and the rotation; --help must not pay it
    from metrics_assets.alerting.clock import FakeClock, SystemClock
    from metrics_assets.alerting.runtime import AlertRuntime, RoleFallbackLookup
    from metrics_core.paths import ops_store_path

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


def _owner_text() -> Callable[[str], str]:
    """How an owner is printed: a team expanded to its name and members (metrics_core.owners.owner_display,
    as on the dashboards), a person as written. A team.yaml that does not load leaves owners as
    written, with a warning: the listing is needed most when something is broken."""
    # deferred: pydantic and the YAML models only when a command runs, not for --help
    from metrics_core.config import ConfigError
    from metrics_core.owners import owner_display
    from metrics_core.team import team_config

    try:
        team = team_config()
    except ConfigError as exc:
        print(f"warning: owners shown as written, team.yaml did not load: {exc}", file=sys.stderr)
        return lambda ref: ref
    return lambda ref: owner_display(ref, team)


def _fmt(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC") if t else "-"


def _list(args: argparse.Namespace) -> int:
    # deferred: the store module is only needed when a command runs, not for --help
    from resources.incident_store import IncidentStore

    with IncidentStore.open(_runtime(args).store_path()) as store:
        rows = store.open_incidents() if args.status == "open" else store.list(
            None if args.status == "all" else args.status, limit=args.limit)
    if not rows:
        print("no incidents")
        return 0
    owner = _owner_text()
    print(f"{'id':<10}{'status':<10}{'sev':<7}{'pipeline':<16}{'kind':<13}{'days':<24}{'opened':<25}"
          f"{'seen':<6}primary owner")
    for i in rows:
        print(f"{i.id:<10}{i.status.value:<10}{i.severity:<7}{i.pipeline:<16}{i.kind.value:<13}"
              f"{(i.partition or '-'):<24}{_fmt(i.opened_at):<25}{i.occurrences:<6}{owner(i.primary_owner)}")
    return 0


def _show(args: argparse.Namespace) -> int:
    # deferred: the store module is only needed when a command runs, not for --help
    from resources.incident_store import IncidentStore

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
    owner = _owner_text()
    print(f"  owners {owner(inc.primary_owner)} (primary), {owner(inc.secondary_owner)} (incident commander)")
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


def _lifecycle(args: argparse.Namespace) -> int:
    """rca / silence / unsilence: recorded through the engine's lifecycle (same store and clock)."""
    # deferred: metrics_core.config (pydantic, the YAML models) only when a command runs
    from metrics_core.config import ConfigError

    try:
        with _runtime(args).engine() as engine:
            lc = engine.lifecycle
            if args.action == "rca":
                lc.complete_rca(args.incident_id, args.doc, args.by)
                print(f"{args.incident_id}: RCA recorded by {args.by}: {args.doc}")
            elif args.action == "silence":
                s = lc.silence(pipeline=args.pipeline, check=args.check, until=args.until,
                               reason=args.reason, by=args.by)
                what = f"{s.pipeline}:{s.check}" if s.check else s.pipeline
                print(f"{s.id}: {what} silenced until {_fmt(s.until)} by {s.created_by}: {s.reason}")
            elif not lc.store.cancel_silence(args.silence_id, engine.clock.now()):
                print(f"error: no active silence {args.silence_id!r}", file=sys.stderr)
                return 2
            else:
                print(f"{args.silence_id}: lifted by {args.by}")
    except (KeyError, ValueError, ConfigError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0


def _rcas(args: argparse.Namespace) -> int:
    with _runtime(args).engine() as engine:
        now, rows = engine.clock.now(), engine.lifecycle.store.rcas(pending=not args.all)
    if not rows:
        print("no RCAs" if args.all else "no pending RCAs")
    for r in rows:
        state = f"done {_fmt(r.done_at)} by {r.done_by}: {r.doc_url}" if r.done_at else (
            "OVERDUE" if r.overdue(now) else "pending")
        print(f"{r.incident_id:<10}{r.pipeline:<16}{r.severity:<6} due {_fmt(r.due_at)}  {state}")
    return 0


def _silences(args: argparse.Namespace) -> int:
    with _runtime(args).engine() as engine:
        now, store = engine.clock.now(), engine.lifecycle.store
        rows = store.silences() if args.all else store.active_silences(now)
        counts = store.silenced_counts()
    if not rows:
        print("no silences" if args.all else "no active silences")
    for s in rows:
        what = f"{s.pipeline}:{s.check}" if s.check else s.pipeline
        state = "active" if s.active(now) else ("lifted" if s.cancelled_at else "expired")
        print(f"{s.id:<10}{what:<40}{state:<8} until {_fmt(s.until)}  by {s.created_by}: {s.reason} "
              f"({counts.get(s.id, 0)} suppressed)")
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

    rca = common(sub.add_parser("rca", help="record the RCA of a resolved incident (document, author)"))
    rca.add_argument("incident_id")
    rca.add_argument("--doc", required=True, help="URL of the RCA document")
    rca.add_argument("--by", required=True, help="who wrote it")
    rca.add_argument("--at", type=_instant, default=None, help="when (default: now)")
    rca.set_defaults(func=_lifecycle, action="rca")

    rcas = common(sub.add_parser("rcas", help="RCAs owed: pending and overdue (--all: done ones too)"))
    rcas.add_argument("--all", action="store_true")
    rcas.add_argument("--at", type=_instant, default=None, help="judge overdue at this time (default: now)")
    rcas.set_defaults(func=_rcas)

    sil = common(sub.add_parser("silence", help="suppress a pipeline's (or one check's) alerts until a time"))
    sil.add_argument("--pipeline", required=True, help="pipeline id (config/pipelines.yaml)")
    sil.add_argument("--check", default=None, help="only this check (its name), on any asset")
    sil.add_argument("--until", required=True, type=_instant, help="ISO-8601 with offset; expires by itself")
    sil.add_argument("--reason", required=True)
    sil.add_argument("--by", required=True, help="who silences (e-mail)")
    sil.add_argument("--at", type=_instant, default=None, help="when it starts (default: now)")
    sil.set_defaults(func=_lifecycle, action="silence")

    sils = common(sub.add_parser("silences", help="active silences (--all: expired and lifted too)"))
    sils.add_argument("--all", action="store_true")
    sils.add_argument("--at", type=_instant, default=None)
    sils.set_defaults(func=_silences)

    uns = common(sub.add_parser("unsilence", help="lift a silence before it expires"))
    uns.add_argument("silence_id")
    uns.add_argument("--by", required=True)
    uns.add_argument("--at", type=_instant, default=None)
    uns.set_defaults(func=_lifecycle, action="unsilence")
