"""Owners' service-level objectives of the investor tables, and the arithmetic of their budgets.

Three objectives per daily investor table (defaults from shared/seeds/003: freshness <= 15 min past
the SLA deadline, completeness >= 99.5%, accuracy drift <= 0.5 pp), each met by a share `target` of
the days of a rolling window, so each has an error budget. Everything here is pure: the caller
passes the day records and the clock, so every rule is tested with an injected `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

SCHEDULED = "schedule"  # the trigger of a run the daily schedule launched


class _Objective(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: float = Field(gt=0, le=1)  # share of the window's judged days that must meet it
    window_days: int = Field(ge=1, le=366)


class Freshness(_Objective):
    """A day is on time when its first publication, by a scheduled run, came no later than
    `grace_minutes` past the pipeline's daily SLA deadline. Backfills are neither hits nor misses."""

    target: float = Field(default=0.99, gt=0, le=1)
    window_days: int = Field(default=28, ge=1, le=366)
    grace_minutes: float = Field(default=15, ge=0, le=1440)
    # an `sla_at_risk` incident opens when the day is not published this long before the deadline
    at_risk_minutes: float = Field(default=30, ge=0, le=1440)


class Completeness(_Objective):
    """Published days / due days (a day is due once its deadline and grace have passed)."""

    target: float = Field(default=0.995, gt=0, le=1)
    window_days: int = Field(default=28, ge=1, le=366)


class Accuracy(_Objective):
    """A published day is accurate when no number moved more than `max_drift_pp` between its first
    publication and the latest rebuild, net of the table's late inputs (ops.publication_drift)."""

    target: float = Field(default=0.99, gt=0, le=1)
    window_days: int = Field(default=28, ge=1, le=366)
    max_drift_pp: float = Field(default=0.5, gt=0, le=100)


class Slos(BaseModel):
    model_config = ConfigDict(extra="forbid")
    freshness: Freshness = Field(default_factory=Freshness)
    completeness: Completeness = Field(default_factory=Completeness)
    accuracy: Accuracy = Field(default_factory=Accuracy)


def daily_deadline(day: date, deadline_cron: str, timezone: str) -> datetime:
    """The SLA deadline of `day` (naive UTC): the cron's time of day on the day after, in its zone.
    Only daily crons ("M H * * *") have a deadline per day; anything else is refused."""
    minute, hour, dom, month, dow = deadline_cron.split()
    if (dom, month, dow) != ("*", "*", "*") or not (minute.isdigit() and hour.isdigit()):
        raise ValueError(f"deadline_cron {deadline_cron!r} is not a daily 'M H * * *' cron")
    local = datetime.combine(day + timedelta(days=1), time(int(hour), int(minute)), ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def at_risk_day(
    now: datetime, deadline_cron: str, timezone: str, at_risk_minutes: float
) -> tuple[date, datetime]:
    """The latest day whose at-risk window has begun at `now` (naive UTC), with its deadline: from
    `at_risk_minutes` before its deadline on, an unpublished day is at risk."""
    lead = timedelta(minutes=at_risk_minutes)
    day = now.date()
    while daily_deadline(day, deadline_cron, timezone) - lead > now:
        day -= timedelta(days=1)
    return day, daily_deadline(day, deadline_cron, timezone)


@dataclass(frozen=True)
class DayRecord:
    """What the operational tables say about one day of one investor table."""

    day: date
    deadline: datetime
    first_published_at: datetime | None = None  # run clock of its first publication
    first_trigger: str | None = None  # schedule | backfill | manual
    max_drift_pp: float | None = None  # largest net drift of its numbers so far
    published_rows: int | None = None  # rows of the day in the investor table
    source_rows: int | None = None  # rows of the day in the model it is published from

    @property
    def rows_complete(self) -> bool | None:
        """Every row of the model's day reached the investor table (None: not counted)."""
        if self.published_rows is None or self.source_rows is None:
            return None
        return self.published_rows >= self.source_rows


@dataclass(frozen=True)
class DayJudgement:
    day: date
    due: bool
    lag_minutes: float | None  # first publication vs deadline (negative: early)
    on_time: bool | None  # None: not due, or first delivered by a backfill (shown apart)
    published: bool | None  # None: not due yet
    accurate: bool | None  # None: never published, or no rebuild to compare with yet


def judge(rec: DayRecord, slos: Slos, now: datetime) -> DayJudgement:
    grace = timedelta(minutes=slos.freshness.grace_minutes)
    due = now >= rec.deadline + grace
    at = rec.first_published_at
    lag = None if at is None else (at - rec.deadline).total_seconds() / 60
    if at is not None and rec.first_trigger != SCHEDULED:
        on_time = None  # a backfill is never a hit or a miss
    elif at is not None and at <= rec.deadline + grace:
        on_time = True
    elif due:
        on_time = False
    else:
        on_time = None
    # completeness: published by now, and with every row of the model's day (published vs source rows)
    published = (at is not None and at <= now and rec.rows_complete is not False) if due else None
    drift = rec.max_drift_pp
    accurate = None if drift is None or at is None else drift <= slos.accuracy.max_drift_pp
    return DayJudgement(rec.day, due, lag, on_time, published, accurate)


@dataclass(frozen=True)
class Attainment:
    objective: str
    window_days: int
    target: float
    judged: int
    good: int

    @property
    def attainment(self) -> float | None:
        return self.good / self.judged if self.judged else None

    @property
    def budget_days(self) -> float:
        """Days of the window allowed to miss."""
        return (1 - self.target) * self.judged

    @property
    def budget_remaining(self) -> float | None:
        """Share of the error budget left (negative: overspent); None with no budget to speak of."""
        misses = self.judged - self.good
        if self.budget_days <= 0:
            return None if self.judged == 0 else (1.0 if misses == 0 else -float(misses))
        return 1 - misses / self.budget_days

    @property
    def burn_rate(self) -> float | None:
        """Miss rate / allowed miss rate: 1.0 spends the budget exactly over the window."""
        if not self.judged:
            return None
        return ((self.judged - self.good) / self.judged) / (1 - self.target) if self.target < 1 else None

    @property
    def met(self) -> bool | None:
        a = self.attainment
        return None if a is None else a >= self.target


def attainment(judgements: list[DayJudgement], slos: Slos, now: datetime) -> list[Attainment]:
    """Per objective, over the days of its window ending at `now`: judged days and good ones."""
    out = []
    for name, flag in (("freshness", "on_time"), ("completeness", "published"), ("accuracy", "accurate")):
        obj = getattr(slos, name)
        first = now.date() - timedelta(days=obj.window_days)
        flags = [getattr(j, flag) for j in judgements if first <= j.day < now.date()]
        judged = [f for f in flags if f is not None]
        out.append(Attainment(name, obj.window_days, obj.target, len(judged), sum(judged)))
    return out
