"""iCalendar feeds of the final schedule: one for the team and one per engineer.

Events keep TZID=Asia/Kolkata (a VTIMEZONE is embedded), UIDs are derived from rotation, block and
role so a re-plan updates an event instead of duplicating it (SEQUENCE counts its changes), and
DTSTAMP comes from the schedule, not the clock, so the same schedule gives byte-identical files.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import icalendar

from metrics_assets.oncall.schedule import Schedule
from metrics_assets.oncall.solver import B, P
from metrics_core.team import TeamConfig

PRODID = "-//metrics-platform//oncall//EN"


def _changes(schedule: Schedule) -> tuple[Counter[tuple[str, str]], dict[str, datetime]]:
    seq: Counter[tuple[str, str]] = Counter()
    stamp: dict[str, datetime] = {}
    for entry in schedule.log:
        for c in entry.get("changes", []) if entry.get("kind") == "replan" else []:
            seq[c["block"], c["role"]] += 1
            stamp[c["block"]] = datetime.fromisoformat(entry["as_of"])
    return seq, stamp


def _name(schedule: Schedule, email: str) -> str:
    p = schedule.people.get(email, {})
    return f"{p.get('name', email)} ({p.get('id', '?')})"


def _events(schedule: Schedule, team: TeamConfig, person: str | None) -> list[icalendar.Event]:
    """Role, handoff and override events; only those involving `person` (e-mail) when given."""
    seq, stamps = _changes(schedule)
    dom, rot = team.rotation.uid_domain, schedule.rotation
    meeting = timedelta(minutes=team.rotation.handoff.meeting_minutes)
    events = []
    prev = None
    for s in schedule.slots:
        stamp = stamps.get(s.id, schedule.start)
        for role, who, other in ((P, s.primary, s.backup), (B, s.backup, s.primary)):
            if person in (None, who):
                other_role = "backup" if role == P else "primary"
                events.append(
                    icalendar.Event.new(
                        uid=f"{rot}-{s.id}-{role}@{dom}",
                        sequence=seq[s.id, role],
                        stamp=stamp,
                        summary=f"On-call {role.upper()}: {_name(schedule, who)}",
                        description=f"{rot} {s.id}: {role} {who}; {other_role} {other}",
                        start=s.start,
                        end=s.end,
                        categories=["oncall", role],
                        attendees=[icalendar.vCalAddress(f"mailto:{who}")],
                    )
                )
        people = {s.primary, s.backup} | ({prev.primary, prev.backup} if prev else set())
        if meeting and person in (None, *people):
            events.append(
                icalendar.Event.new(
                    uid=f"{rot}-{s.id}-handoff@{dom}",
                    sequence=seq[s.id, P] + seq[s.id, B],
                    stamp=stamp,
                    summary=f"On-call handoff {s.id}: primary {_name(schedule, s.primary)}, "
                    f"backup {_name(schedule, s.backup)}",
                    description="Outgoing: "
                    + (f"{prev.primary} / {prev.backup}" if prev else "-")
                    + f". Incoming: {s.primary} / {s.backup}.",
                    start=s.start,
                    end=s.start + meeting,
                    categories=["oncall", "handoff"],
                    attendees=[icalendar.vCalAddress(f"mailto:{e}") for e in sorted(people)],
                )
            )
        prev = s
    for o in schedule.overrides:
        if person in (None, o.primary, o.backup):
            events.append(
                icalendar.Event.new(
                    uid=f"{rot}-{o.block}-override-{o.date.isoformat()}@{dom}",
                    sequence=seq[o.block, P] + seq[o.block, B],
                    stamp=stamps.get(o.block, schedule.start),
                    summary=f"{o.reason}: {_name(schedule, o.primary)} is PRIMARY",
                    description=f"Day override on {o.holiday}: primary {o.primary}, backup {o.backup}",
                    start=o.start,
                    end=o.end,
                    categories=["oncall", "override"],
                )
            )
    return events


def calendar(schedule: Schedule, team: TeamConfig, person: str | None = None) -> icalendar.Calendar:
    who = "" if person is None else f" - {_name(schedule, person)}"
    uid = f"{schedule.rotation}-{'team' if person is None else person}@{team.rotation.uid_domain}"
    cal = icalendar.Calendar.new(name=f"{schedule.rotation} on-call{who}", prodid=PRODID, uid=uid)
    for ev in _events(schedule, team, person):
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal


def write_ics(schedule: Schedule, team: TeamConfig, out: Path) -> list[Path]:
    """oncall-team.ics plus oncall-<id>.ics per engineer in the rotation."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "oncall-team.ics"]
    paths[0].write_bytes(calendar(schedule, team).to_ical())
    for p in team.rotation_people:
        path = out / f"oncall-{p.id}.ics"
        path.write_bytes(calendar(schedule, team, p.email).to_ical())
        paths.append(path)
    return paths
