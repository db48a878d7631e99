"""`metrics oncall ...`: generate, re-plan, report and export the on-call rotation; ask who is on call.

Every subcommand works on the published schedule files under config/oncall/, so what the CLI
prints is exactly what alerting and the Dagster UI see. Exit codes: 0 ok, 1 hard-rule violations
found, 2 bad config or an infeasible plan (the message names the rule, person and week), or no plan
found within the solver time limit (not proven infeasible).

`who` is the command that runs in a hurry: it imports the schedule files' reader and the team config
only. The solver (OR-Tools), the holiday calendars and the reports are imported by the commands that
use them (tests/test_oncall_fairness.py checks `who` loads neither OR-Tools nor Dagster).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path

from metrics_assets.oncall.lookup import OnCallLookup
from metrics_assets.oncall.schedule import Schedule, schedule_path
from metrics_core.config import ConfigError
from metrics_core.team import Pto, TeamConfig, load_team_config


def _team(args: argparse.Namespace) -> TeamConfig:
    return load_team_config(Path(args.team) if getattr(args, "team", None) else None)


def _default_year(team: TeamConfig) -> int:
    return team.rotation.start.isocalendar()[0]  # the ISO year of the first block (blocks.block_id)


def _schedule_file(args: argparse.Namespace, team: TeamConfig) -> Path:
    if getattr(args, "schedule", None):
        return Path(args.schedule)
    return schedule_path(args.year or _default_year(team))


def _instant(text: str | None, team: TeamConfig) -> datetime:
    """ISO timestamp; a naive one is read in the team's time zone (IST). None means now."""
    if text is None:
        return datetime.now(team.tz)
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=team.tz)


def _pto(text: str) -> tuple[str, Pto]:
    parts = text.split(":", 3)
    if len(parts) < 3:
        raise argparse.ArgumentTypeError(f"--pto {text!r}: expected PERSON:START:END[:REASON]")
    try:
        pto = Pto(
            start=date.fromisoformat(parts[1]),
            end=date.fromisoformat(parts[2]),
            reason=parts[3] if len(parts) > 3 else "PTO",
        )
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--pto {text!r}: {exc}") from None
    return parts[0], pto


def cmd_generate(args: argparse.Namespace) -> int:
    # deferred: the solver (OR-Tools) and the reports load only for the commands that plan
    from metrics_assets.oncall.ownership import validate_ownership
    from metrics_assets.oncall.planner import generate
    from metrics_assets.oncall.report import fairness_text
    from metrics_core.config import pipeline_config

    team = _team(args)
    validate_ownership(pipeline_config(), team)
    year = args.year or _default_year(team)
    prev_path = schedule_path(year - 1)
    previous = Schedule.load(prev_path) if prev_path.exists() else None
    out = Path(args.out) if args.out else schedule_path(year)
    try:  # an equally good published plan is kept slot for slot
        keep = Schedule.load(out) if out.exists() else None
    except ConfigError:
        if not args.force:
            raise
        keep = None  # --force overwrites even an unreadable file
    window = {"year": args.year} if args.year else {}
    sched = generate(team, previous=previous, keep=keep, **window)
    placed = [e for e in sched.log if e["kind"] in ("pto", "employment")]
    n_pto = sum(e["kind"] == "pto" for e in placed)
    print(f"PTO placements ({n_pto}):" if placed else "PTO placements: none")
    for e in placed:
        print(f"  {e['text']}")
    if out.exists() and out.read_text() != sched.to_json() and not args.force:
        print(
            f"{out} exists and differs: a published schedule is changed with `oncall replan`, "
            "not regenerated (use --force to overwrite it anyway)",
            file=sys.stderr,
        )
        return 2
    sched.save(out)
    print(f"wrote {out}")
    print(fairness_text(sched, team))
    return 0


def cmd_replan(args: argparse.Namespace) -> int:
    # deferred: the solver (OR-Tools) loads only for the commands that plan
    from metrics_assets.oncall.planner import replan
    from metrics_assets.oncall.report import solve_notes

    team = _team(args)
    path = _schedule_file(args, team)
    sched = Schedule.load(path)
    as_of = _instant(args.as_of, team)
    new, changes = replan(sched, team, as_of=as_of, extra_pto=args.pto or [], reason=args.reason)
    if not changes:
        print("no change needed: the published schedule already honours every PTO")
    for c in changes:
        flag = "  [inside freeze window: forced by coverage]" if c.in_freeze_window else ""
        print(f"{c.block} {c.role:<7} {new.pid(c.before)} -> {new.pid(c.after)}  ({c.why}){flag}")
    for note in solve_notes(new):
        print(note)
    if args.dry_run:
        print(f"dry run: {path} not written")
    elif changes or args.pto:
        new.save(path)
        print(f"wrote {path} ({len(changes)} change(s) logged)")
        if args.pto:
            print("remember to add the PTO to config/team.yaml so future plans keep honouring it")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    # deferred: the report computes figures with the holiday calendars; `who` needs neither
    from metrics_assets.oncall.planner import check_hard_rules
    from metrics_assets.oncall.report import fairness_text

    team = _team(args)
    sched = Schedule.load(_schedule_file(args, team))
    print(fairness_text(sched, team))
    return 1 if check_hard_rules(sched, team) else 0


def cmd_table(args: argparse.Namespace) -> int:
    # deferred: see cmd_report
    from metrics_assets.oncall.report import table_text

    team = _team(args)
    print(table_text(Schedule.load(_schedule_file(args, team)), team))
    return 0


def cmd_ics(args: argparse.Namespace) -> int:
    # deferred: see cmd_report
    from metrics_assets.oncall.ical import write_ics

    team = _team(args)
    for p in write_ics(Schedule.load(_schedule_file(args, team)), team, Path(args.out)):
        print(f"wrote {p}")
    return 0


def cmd_who(args: argparse.Namespace) -> int:
    team = _team(args)
    lookup = OnCallLookup.from_config(Path(args.schedule) if args.schedule else None)
    oc = lookup.who(_instant(args.at, team))
    row = {
        "at": oc.at.isoformat(),
        "primary": oc.primary,
        "backup": oc.backup,
        "block_start": oc.block_start.isoformat(),
        "block_end": oc.block_end.isoformat(),
        "override_reason": oc.override_reason,
    }
    if args.json:
        print(json.dumps(row))
    else:
        print(
            f"at {row['at']}: primary {oc.primary}, backup {oc.backup} "
            f"(block {row['block_start']} .. {row['block_end']})"
            + (f"; override: {oc.override_reason}" if oc.override_reason else "")
        )
    return 0


def cmd_handoff(args: argparse.Namespace) -> int:
    """The handoff report of the block that starts at (or last started before) --at."""
    # deferred: the alert engine (and its store) load only for this command
    from metrics_assets.alerting.clock import FakeClock, SystemClock
    from metrics_assets.alerting.runtime import AlertRuntime
    from metrics_core.paths import ops_store_path

    team = _team(args)
    at = _instant(args.at, team) if args.at else None
    store = Path(args.store) if args.store else ops_store_path()
    runtime = AlertRuntime(clock=FakeClock(at) if at else SystemClock(), store_path=lambda: store)
    with runtime.engine() as engine:
        now = engine.clock.now()
        start = engine.lookup.who(now).block_start or now
        print(engine.lifecycle.handoff_report(start))
    return 0


def _guard(fn):  # noqa: ANN001, ANN202 -- wraps a command: clear message + exit 2 on a bad plan/config
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (ConfigError, ValueError) as exc:  # RotationInfeasible and RotationTimeout are ValueErrors
            print(f"oncall {args.oncall_command}: {exc}", file=sys.stderr)
            return 2

    return run


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--team", help="team config (default config/team.yaml)")
    osub = p.add_subparsers(dest="oncall_command", required=True)

    def add(name: str, fn, help_: str, schedule: bool = True) -> argparse.ArgumentParser:  # noqa: ANN001
        q = osub.add_parser(name, help=help_)
        if schedule:
            q.add_argument("--year", type=int, help="ISO year of the schedule (default: rotation.start's)")
            q.add_argument(
                "--schedule", help="a schedule JSON file instead of config/oncall/schedule-<year>.json"
            )
        q.set_defaults(func=_guard(fn))
        return q

    h = add("handoff", cmd_handoff,
            "the Monday handoff report: open incidents, silences, RCAs, the week's pages", False)
    h.add_argument("--at", help="an instant in the block (default now)")
    h.add_argument("--store", help="operational store (default $METRICS_OPS_STORE or data/ops.sqlite)")
    g = add("generate", cmd_generate, "solve a fresh schedule and publish it under config/oncall/", False)
    g.add_argument(
        "--year", type=int, help="ISO year (default: rotation.start and horizon_weeks from team.yaml)"
    )
    g.add_argument("--out", help="output file (default config/oncall/schedule-<year>.json)")
    g.add_argument("--force", action="store_true", help="overwrite a published schedule that differs")
    r = add("replan", cmd_replan, "honour new PTO with the fewest changes; logs every change")
    r.add_argument(
        "--pto",
        type=_pto,
        action="append",
        metavar="PERSON:START:END[:REASON]",
        help="extra PTO (id or e-mail, inclusive ISO dates); repeatable",
    )
    r.add_argument("--as-of", help="ISO time the re-plan takes effect (default now); earlier blocks are kept")
    r.add_argument("--reason", default="PTO change", help="why, for the change log")
    r.add_argument("--dry-run", action="store_true", help="print the changes without writing the schedule")
    add("report", cmd_report, "fairness per engineer with spreads; exit 1 on a hard-rule violation")
    add("table", cmd_table, "the schedule as a readable table")
    i = add("ics", cmd_ics, "write iCalendar files for the team and per engineer")
    i.add_argument("--out", required=True, help="output directory")
    w = add("who", cmd_who, "who is on call at a time (default now)", False)
    w.add_argument("--at", help="ISO time; naive means the team time zone (IST)")
    w.add_argument("--schedule", help="a schedule JSON file (default: every published schedule)")
    w.add_argument("--json", action="store_true")
