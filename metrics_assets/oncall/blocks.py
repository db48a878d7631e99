"""Weekly on-call blocks and the per-block facts the solver needs (PTO, holidays, weekends).

A block runs from the handoff instant (default Monday 09:00 IST) to the next one. A local date
belongs to the block that contains its noon, so every date is counted exactly once; PTO, by
contrast, blocks every block it overlaps even by an hour ("never scheduled over it"). A person's
`start`/`end` (joiner, leaver) bound the blocks they can take: only blocks wholly inside them, and
their fair share is pro-rated to those blocks (see solver.shares).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from metrics_assets.oncall.holiday_calendar import company_holidays, critical_days, person_holidays
from metrics_core.team import WEEKDAYS, Pto, TeamConfig


@dataclass(frozen=True)
class Block:
    index: int
    id: str  # ISO week of the start date, e.g. "2026-W01": stable, used in UIDs and logs
    start: datetime
    end: datetime
    dates: tuple[date, ...]


def block_id(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def make_blocks(team: TeamConfig, start: date, weeks: int) -> list[Block]:
    tz, at = team.tz, team.rotation.handoff.at
    out = []
    for i in range(weeks):
        d0 = start + timedelta(weeks=i)
        s = datetime.combine(d0, at, tz)
        e = datetime.combine(d0 + timedelta(weeks=1), at, tz)
        dates = tuple(
            d0 + timedelta(days=k)
            for k in range(-1, 8)
            if s <= datetime.combine(d0 + timedelta(days=k), datetime.min.time().replace(hour=12), tz) < e
        )
        out.append(Block(i, block_id(d0), s, e, dates))
    return out


def year_window(team: TeamConfig, year: int) -> tuple[date, int]:
    """(first block date, number of blocks) of the blocks whose start date is in ISO year `year`."""
    wd = team.rotation.handoff.weekday_index
    first = date.fromisocalendar(year, 1, wd + 1)
    last = date.fromisocalendar(year + 1, 1, wd + 1)
    return first, (last - first).days // 7


def default_window(team: TeamConfig) -> tuple[date, int]:
    return team.rotation.start, team.rotation.horizon_weeks


@dataclass
class Facts:
    """Everything about the horizon the solver and the report need, per person id and block index."""

    people: tuple[str, ...]
    blocks: list[Block]
    unavailable: dict[tuple[str, int], str] = field(default_factory=dict)  # -> reason naming the PTO
    hol_normal: dict[tuple[str, int], int] = field(default_factory=dict)  # holiday days, no override
    hol_critical: dict[tuple[str, int], int] = field(default_factory=dict)  # holiday days with override
    weekend: dict[int, int] = field(default_factory=dict)
    critical: dict[date, str] = field(default_factory=dict)
    holidays: dict[date, str] = field(default_factory=dict)  # company calendar in the horizon
    employed: dict[tuple[str, int], bool] = field(default_factory=dict)  # with the team for the whole block
    pto: list[tuple[str, Pto, tuple[int, ...]]] = field(default_factory=list)  # each PTO and its blocks

    @property
    def weeks(self) -> range:
        return range(len(self.blocks))

    @property
    def uniform(self) -> bool:
        """Everyone is with the team for the whole horizon (no joiner, no leaver): plain max - min."""
        return all(self.employed.values())


def _pto_overlaps(pto: Pto, tz: ZoneInfo, b: Block) -> bool:
    s = datetime.combine(pto.start, datetime.min.time(), tz)
    e = datetime.combine(pto.end + timedelta(days=1), datetime.min.time(), tz)
    return s < b.end and b.start < e


def build_facts(team: TeamConfig, blocks: list[Block]) -> Facts:
    years = sorted({d.year for b in blocks for d in b.dates} | {blocks[0].start.year, blocks[-1].end.year})
    company = company_holidays(team, years)
    crit = critical_days(team, years)
    off_days = {i for i, wd in enumerate(WEEKDAYS) if wd not in team.business_hours.days}
    people = tuple(p.id for p in team.rotation_people)
    f = Facts(people=people, blocks=blocks, critical=crit)
    horizon = {d for b in blocks for d in b.dates}
    f.holidays = {d: n for d, n in company.items() if d in horizon}
    for b in blocks:
        f.weekend[b.index] = sum(d.weekday() in off_days for d in b.dates)
    for p in team.rotation_people:
        mine = person_holidays(p, team, years)
        ptz = ZoneInfo(p.timezone)
        joins = datetime.combine(p.start, datetime.min.time(), ptz) if p.start else None
        leaves = datetime.combine(p.end + timedelta(days=1), datetime.min.time(), ptz) if p.end else None
        for b in blocks:
            hol = [d for d in b.dates if d in mine]
            f.hol_critical[p.id, b.index] = sum(d in crit for d in hol)
            f.hol_normal[p.id, b.index] = len(hol) - f.hol_critical[p.id, b.index]
            before, after = joins is not None and b.start < joins, leaves is not None and b.end > leaves
            f.employed[p.id, b.index] = not (before or after)
            if before:
                f.unavailable[p.id, b.index] = f"{p.id} joins the rotation on {p.start}"
            elif after:
                f.unavailable[p.id, b.index] = f"{p.id} leaves the rotation after {p.end}"
            for pto in p.pto:
                if _pto_overlaps(pto, ptz, b):
                    f.unavailable.setdefault(
                        (p.id, b.index), f"{p.id} on PTO {pto.start}..{pto.end} ({pto.reason})"
                    )
        for pto in p.pto:
            weeks = tuple(b.index for b in blocks if _pto_overlaps(pto, ptz, b) and f.employed[p.id, b.index])
            if weeks:
                f.pto.append((p.id, pto, weeks))
    return f
