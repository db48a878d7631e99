"""The team config (config/team.yaml): people, calendars, PTO, escalation roles, owner teams and rotation.

Validated once at load so that a typo (an unknown weekday, a PTO that ends before it starts, a critical
holiday nobody spelled right) is refused with the key that is wrong, not discovered at 03:00.
"""

from __future__ import annotations

import re
from datetime import date, time
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from metrics_core.config import ConfigError, load_model
from metrics_core.paths import config_dir

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
FAIRNESS_METRICS = (
    "primary_weeks",
    "backup_weeks",
    "holiday_days_primary",
    "holiday_days_backup",
    "weekend_days",
    "holiday_days",  # acting Primary + acting Backup together
    "duty_weeks",  # blocks on duty in either role
)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def _email(v: str) -> str:
    if not _EMAIL.match(v):
        raise ValueError(f"{v!r} is not an e-mail address")
    return v.lower()


Email = Annotated[str, AfterValidator(_email)]  # people and roles: checked, stored lower case
Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def _tz(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {v!r}") from None
    return v


def _hhmm(v: str) -> str:
    try:
        time.fromisoformat(v)
    except ValueError:
        raise ValueError(f"{v!r} is not a HH:MM time") from None
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HolidaySource(_Strict):
    """Which `holidays` library calendar a person (or the company) follows."""

    country: str = Field(min_length=2, max_length=3)
    subdiv: str | None = None
    categories: tuple[str, ...] = ("public",)


class CompanyHoliday(_Strict):
    date: date
    name: str = Field(min_length=1)
    critical: bool = False


class HolidayPolicy(HolidaySource):
    """The company calendar: the library's list plus additions minus removals (the company list wins)."""

    library_version: str | None = None  # pinned `holidays` version; a mismatch is refused at load
    additions: tuple[CompanyHoliday, ...] = ()
    removals: tuple[date, ...] = ()
    critical: tuple[str, ...] = ()  # holiday names on which Backup acts as Primary for the day

    @model_validator(mode="after")
    def _pinned(self) -> HolidayPolicy:
        # the installed distribution's version, read without importing the library (`oncall who` stays light)
        installed = version("holidays")
        if self.library_version and installed != self.library_version:
            raise ValueError(
                f"library_version {self.library_version!r} pinned but holidays {installed} is "
                "installed; lunar dates may have moved -- review and update the pin"
            )
        return self


class Pto(_Strict):
    start: date
    end: date  # inclusive
    reason: str = "PTO"

    @model_validator(mode="after")
    def _order(self) -> Pto:
        if self.end < self.start:
            raise ValueError(f"PTO end {self.end} is before its start {self.start}")
        return self


class Person(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: str
    email: Email
    timezone: str = "Asia/Kolkata"
    holidays: HolidaySource | None = None  # None: the company calendar
    in_rotation: bool = True
    pto: tuple[Pto, ...] = ()
    start: date | None = None  # first day with the team (a joiner): no duty before, duty pro-rated
    end: date | None = None  # last day with the team, inclusive (a leaver): no duty after

    _tzv = field_validator("timezone")(classmethod(lambda cls, v: _tz(v)))

    @model_validator(mode="after")
    def _dates(self) -> Person:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"person {self.id}: end {self.end} is before start {self.start}")
        return self


class Role(_Strict):
    name: str
    email: Email


class Team(_Strict):
    """An owner team (`teams.<id>` in team.yaml): pipelines name it as `team:<id>`. Its notifications
    go to its Slack `channel`, addressed to its `escalation` contact (metrics_core/owners.py)."""

    name: str = Field(min_length=1)  # display name, e.g. "Finance Team"
    members: tuple[str, ...] = ()  # person ids or e-mails of `people`
    channel: str | None = None  # the team's Slack channel, "#name"
    escalation: str | None = None  # a member (id or e-mail), or a role of `roles` (key or e-mail)


_TEAM_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_SLACK_CHANNEL = re.compile(r"^#[a-z0-9][a-z0-9._-]{0,79}$")


class BusinessHours(_Strict):
    days: tuple[Weekday, ...] = ("MON", "TUE", "WED", "THU", "FRI")
    start: str = "09:00"
    end: str = "19:00"

    _hv = field_validator("start", "end")(classmethod(lambda cls, v: _hhmm(v)))

    @model_validator(mode="after")
    def _order(self) -> BusinessHours:
        if time.fromisoformat(self.end) <= time.fromisoformat(self.start):
            raise ValueError(f"business hours end {self.end} is not after start {self.start}")
        return self


class Handoff(_Strict):
    weekday: Weekday = "MON"
    time: str = "09:00"
    meeting_minutes: int = Field(default=30, ge=0, le=240)

    _hv = field_validator("time")(classmethod(lambda cls, v: _hhmm(v)))

    @property
    def weekday_index(self) -> int:
        return WEEKDAYS.index(self.weekday)

    @property
    def at(self) -> time:
        return time.fromisoformat(self.time)


class Rotation(_Strict):
    name: str = "metrics-weekly"
    start: date  # the first block starts on this date at handoff.time
    horizon_weeks: int = Field(default=52, ge=1, le=260)
    handoff: Handoff = Handoff()
    freeze_weeks: int = Field(default=2, ge=0, le=52)
    # The rest preference (not a spec rule): weeks on duty in a row beyond this are penalised in the
    # objective, never refused, so PTO that leaves only two people is still planned. None: no preference.
    max_consecutive_duty_weeks: int | None = Field(default=2, ge=1)
    fairness_order: tuple[str, ...] = FAIRNESS_METRICS  # metrics not listed follow, in FAIRNESS_METRICS order
    uid_domain: str = "metrics.example.com"
    solver_seed: int = 0
    # Wall-clock budget of one generate/replan solve (all its stages): past it the best plan found is
    # returned with its optimality gap; "infeasible" is said only when the solver proved it.
    solver_time_limit_s: float = Field(default=10.0, gt=0, le=3600)
    # The schedule never runs out: the next ISO year is published once fewer weeks than this are left
    # (the `oncall_keep_ahead` schedule), and the horizon check warns below `warn_ahead_weeks`.
    keep_ahead_weeks: int = Field(default=12, ge=1, le=104)
    warn_ahead_weeks: int = Field(default=4, ge=0, le=104)
    keep_ahead_cron: str = Field(default="30 3 * * *", pattern=r"^\S+ \S+ \S+ \S+ \S+$")  # UTC

    @property
    def fairness_metrics(self) -> tuple[str, ...]:
        """Every fairness metric, the configured ones first: all of them are reported and balanced."""
        return (*self.fairness_order, *(m for m in FAIRNESS_METRICS if m not in self.fairness_order))

    @field_validator("fairness_order")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in v if m not in FAIRNESS_METRICS]
        if bad or len(set(v)) != len(v):
            raise ValueError(f"fairness_order {list(v)} must be distinct names from {list(FAIRNESS_METRICS)}")
        return v

    @model_validator(mode="after")
    def _ahead(self) -> Rotation:
        if self.warn_ahead_weeks > self.keep_ahead_weeks:
            raise ValueError(f"rotation.warn_ahead_weeks {self.warn_ahead_weeks} is above keep_ahead_weeks "
                             f"{self.keep_ahead_weeks}: the check would warn on every schedule kept ahead")
        return self

    @model_validator(mode="after")
    def _start_on_handoff_day(self) -> Rotation:
        if self.start.weekday() != self.handoff.weekday_index:
            raise ValueError(
                f"rotation.start {self.start} is a {WEEKDAYS[self.start.weekday()]}, "
                f"but handoff.weekday is {self.handoff.weekday}"
            )
        return self


class OwnershipPolicy(_Strict):
    """Weights and limits of the spec's ownership rules (see ownership.py for what they mean)."""

    primary_weight: float = Field(default=2.0, gt=0)
    secondary_weight: float = Field(default=1.0, gt=0)
    investor_multiplier: float = Field(default=1.5, ge=1)
    max_pipelines_per_pair: int = Field(default=2, ge=1)

    @property
    def max_pipeline_weight(self) -> float:
        """'One pipeline's weight': the most one person carries from one pipeline (investor primary)."""
        return max(self.primary_weight, self.secondary_weight) * self.investor_multiplier


class TeamConfig(_Strict):
    timezone: str = "Asia/Kolkata"
    people: tuple[Person, ...]
    roles: dict[str, Role]
    business_hours: BusinessHours = BusinessHours()
    holidays: HolidayPolicy
    rotation: Rotation
    ownership: OwnershipPolicy = OwnershipPolicy()
    approvers: tuple[str, ...] = ()  # may approve closed-period investor re-publication (person id/e-mail)
    teams: dict[str, Team] = {}  # owner teams, referenced from pipelines.yaml owners as `team:<id>`

    _tzv = field_validator("timezone")(classmethod(lambda cls, v: _tz(v)))

    @model_validator(mode="after")
    def _people(self) -> TeamConfig:
        refs = {p.id.lower() for p in self.people} | {p.email.lower() for p in self.people}
        for a in self.approvers:
            if a.strip().lower() not in refs:
                raise ValueError(f"approvers: {a!r} is not a person (id or e-mail) of team.yaml people")
        for attr in ("id", "email"):
            seen: set[str] = set()
            for p in self.people:
                key = getattr(p, attr)
                if key in seen:
                    raise ValueError(f"people: duplicate {attr} {key!r}")
                seen.add(key)
        if len(self.rotation_people) < 2:
            raise ValueError("people: at least 2 people must be in_rotation (a Primary and a Backup)")
        for role in ("platform_lead", "engineering_manager", "finance_lead"):
            if role not in self.roles:
                raise ValueError(f"roles.{role} is missing (needed by the escalation ladder)")
        return self

    @model_validator(mode="after")
    def _teams(self) -> TeamConfig:
        refs = {p.id.lower() for p in self.people} | {p.email.lower() for p in self.people}
        for tid, t in self.teams.items():
            key = f"teams.{tid}"
            if not _TEAM_ID.match(tid):
                raise ValueError(f"{key}: a team id must be lower case letters, digits, '_' or '-'")
            if not t.members:
                raise ValueError(f"{key}.members: a team needs at least one member (a person of `people`)")
            for m in t.members:
                if m.strip().lower() not in refs:
                    raise ValueError(f"{key}.members: {m!r} is not a person (id or e-mail) of `people`")
            if not t.channel:
                raise ValueError(f"{key}.channel: a team needs a Slack channel ('#name') to be notified in")
            if not _SLACK_CHANNEL.match(t.channel):
                raise ValueError(f"{key}.channel: {t.channel!r} is not a Slack channel like '#finance-data'")
            if not t.escalation:
                raise ValueError(f"{key}.escalation: a team needs an escalation contact (a member or a role)")
            self.team_escalation(tid)  # raises naming the key when the contact is no one
        return self

    def team(self, team_id: str) -> Team:
        try:
            return self.teams[team_id]
        except KeyError:
            raise ConfigError(f"team.yaml: no team {team_id!r}; known teams: {sorted(self.teams)}") from None

    def team_members(self, team_id: str) -> tuple[Person, ...]:
        """The team's members as people of team.yaml, in the order listed."""
        return tuple(self.person(m) for m in self.team(team_id).members)

    def team_escalation(self, team_id: str) -> str:
        """The e-mail of the team's escalation contact: a member (id or e-mail) or a role (key or e-mail)."""
        t = self.team(team_id)
        ref = (t.escalation or "").strip().lower()
        for p in self.team_members(team_id):
            if ref in (p.id.lower(), p.email):
                return p.email
        for key, role in self.roles.items():
            if ref in (key.lower(), role.email):
                return role.email
        raise ValueError(
            f"teams.{team_id}.escalation: {t.escalation!r} is neither a member of the team "
            f"{[p.id for p in self.team_members(team_id)]} nor a role (key or e-mail) of `roles`"
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def rotation_people(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.in_rotation)

    def person(self, ref: str) -> Person:
        """A person by id or e-mail (case-insensitive)."""
        r = ref.strip().lower()
        for p in self.people:
            if r in (p.id.lower(), p.email):
                return p
        raise ConfigError(
            f"team.yaml: no person with id or e-mail {ref!r}; known: {[p.id for p in self.people]}"
        )

    def with_pto(self, person_ref: str, pto: Pto) -> TeamConfig:
        """A copy with one more PTO entry (used by re-planning before team.yaml is edited)."""
        who = self.person(person_ref)
        people = tuple(
            p.model_copy(update={"pto": (*p.pto, pto)}) if p.id == who.id else p for p in self.people
        )
        return self.model_copy(update={"people": people})


def load_team_config(path: Path | None = None) -> TeamConfig:
    return load_model(TeamConfig, path or config_dir() / "team.yaml")


@cache
def team_config() -> TeamConfig:
    """The validated team config, loaded once per process."""
    return load_team_config()
