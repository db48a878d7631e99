"""iCalendar export parsed back: TZID kept, stable UIDs, handoff meetings, deterministic bytes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from metrics_assets.oncall.ical import calendar, write_ics
from metrics_assets.oncall.planner import replan
from metrics_assets.oncall.schedule import Schedule, schedule_path
from metrics_core.team import Pto
from tests.test_oncall_helpers import default_team

IST = ZoneInfo("Asia/Kolkata")


@pytest.fixture(scope="module")
def published() -> Schedule:
    return Schedule.load(schedule_path(2026))


def _parse(path: Path) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(path.read_bytes())


def test_team_and_personal_feeds_round_trip(tmp_path: Path, published: Schedule) -> None:
    team = default_team()
    paths = write_ics(published, team, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        ["oncall-team.ics"] + [f"oncall-{p.id}.ics" for p in team.people]
    )
    cal = _parse(tmp_path / "oncall-team.ics")
    assert [tz.tz_name for tz in cal.timezones] == ["Asia/Kolkata"]
    events = {str(e.uid): e for e in cal.events}
    n = len(published.slots)
    assert len(events) == 3 * n + len(published.overrides)  # primary, backup, handoff per week + overrides
    w10 = next(s for s in published.slots if s.id == "2026-W10")
    prim = events["metrics-weekly-2026-W10-primary@metrics.example.com"]
    assert prim.start == w10.start and prim.end == w10.end
    assert (
        str(prim.start.tzinfo) == "Asia/Kolkata"
        and b"DTSTART;TZID=Asia/Kolkata:20260302T090000" in prim.to_ical()
    )
    assert str(prim.summary).startswith("On-call PRIMARY: ") and w10.primary in str(prim.description)
    handoff = events["metrics-weekly-2026-W10-handoff@metrics.example.com"]
    assert handoff.end - handoff.start == timedelta(minutes=30) and handoff.start == w10.start
    holi = events["metrics-weekly-2026-W10-override-2026-03-04@metrics.example.com"]
    assert "Holi" in str(holi.summary) and holi.start == datetime(2026, 3, 4, tzinfo=IST)

    mine = _parse(tmp_path / "oncall-AM.ics")
    am = team.person("AM").email
    roles = [e for e in mine.events if "handoff" not in str(e.uid) and "override" not in str(e.uid)]
    assert roles and all(am in str(e.get("attendee")) for e in roles)
    assert len(roles) == sum(am in (s.primary, s.backup) for s in published.slots)


def test_feeds_are_deterministic_and_replans_bump_sequence(published: Schedule) -> None:
    team = default_team()
    assert calendar(published, team).to_ical() == calendar(published, team).to_ical()
    new, changes = replan(
        published, team, as_of=datetime(2026, 6, 1, 10, tzinfo=IST),
        extra_pto=[("PR", Pto(start=date(2026, 7, 21), end=date(2026, 7, 23)))],
    )  # fmt: skip
    before = {str(e.uid): e for e in calendar(published, team).events}
    after = {str(e.uid): e for e in calendar(new, team).events}
    assert before.keys() == after.keys()  # stable UIDs: calendars update events instead of duplicating
    uid = f"metrics-weekly-{changes[0].block}-{changes[0].role}@metrics.example.com"
    assert int(after[uid].get("sequence")) == int(before[uid].get("sequence")) + 1
    assert after[uid].get("dtstamp").dt == datetime(2026, 6, 1, 10, tzinfo=IST)
