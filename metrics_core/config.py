"""Load and validate the pipeline config (config/pipelines.yaml), the single source of truth.

Everything that needs a pipeline's owners, audience, SLA or runbook reads it through here, so
a bad file is refused once, at load, with a message naming the pipeline and the key.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from metrics_core.paths import PROJECT_ROOT, config_dir
from metrics_core.slo import Slos, daily_deadline
from metrics_core.sources import SOURCES

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_CRON = re.compile(r"^\S+ \S+ \S+ \S+ \S+$")
M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file is missing or invalid; the message names the file and the key."""


class Audience(StrEnum):
    INVESTOR = "investor"
    EXPERIMENT = "experiment"


class Deadline(BaseModel):
    """An SLA deadline: the asset must have been refreshed in [deadline - lower_bound, deadline]."""

    model_config = ConfigDict(extra="forbid")
    deadline_cron: str
    lower_bound_hours: float = Field(gt=0)
    timezone: str = "UTC"

    @field_validator("deadline_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        if not _CRON.match(v):
            raise ValueError(f"deadline_cron {v!r} is not a 5-field cron expression")
        return v

    @property
    def lower_bound(self) -> timedelta:
        return timedelta(hours=self.lower_bound_hours)


class Sla(BaseModel):
    """A pipeline's SLA shapes; at least one. `daily`, `weekly`, `monthly`: the asset must have been
    refreshed in [deadline - lower_bound, deadline] of each cron tick (a Dagster cron freshness
    policy). `within_hours`: data at most N hours old at any time, e.g. "within 48 hours of the
    activity" (a Dagster time-window freshness policy, fail window N h). Which shape an asset follows:
    metrics_assets/pipeline_policy.py. A daily investor table's freshness SLO and its SLA-at-risk
    alert count from the `daily` deadline, so a pipeline with such tables must declare `daily`."""

    model_config = ConfigDict(extra="forbid")
    daily: Deadline | None = None
    weekly: Deadline | None = None
    monthly: Deadline | None = None
    within_hours: float | None = Field(default=None, gt=0, le=24 * 31)

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, v: Deadline | None) -> Deadline | None:
        if v is not None:
            _, _, dom, month, dow = v.deadline_cron.split()
            if dow == "*" or dom != "*" or month != "*":
                raise ValueError(f"deadline_cron {v.deadline_cron!r} is not weekly ('M H * * DOW', e.g. "
                                 "'0 17 * * FRI')")
        return v

    @model_validator(mode="after")
    def _some_shape(self) -> Sla:
        if self.daily is None and self.weekly is None and self.monthly is None and self.within_hours is None:
            raise ValueError("declare at least one of daily, weekly, monthly, within_hours")
        return self

    def shape_for(self, grain_period: str | None) -> str:
        """The shape an asset of this grain follows (rule: metrics_assets/pipeline_policy.py)."""
        if grain_period and grain_period != "day" and self.monthly is not None:
            return "monthly"
        for shape in ("within_hours", "weekly", "daily"):
            if getattr(self, shape) is not None:
                return shape
        return self.shapes[0]

    @property
    def shapes(self) -> tuple[str, ...]:
        """The declared shapes, in the order daily, weekly, monthly, within_hours."""
        return tuple(k for k in ("daily", "weekly", "monthly", "within_hours")
                     if getattr(self, k) is not None)


def require_daily(p: Pipeline, why: str) -> Deadline:
    """The pipeline's daily deadline, or a ConfigError naming the key and what needs it."""
    if p.sla.daily is None:
        raise ConfigError(f"pipelines.{p.id}.sla.daily is required by {why}; the pipeline declares only "
                          f"{', '.join(p.sla.shapes)} (config/pipelines.yaml)")
    return p.sla.daily


TEAM_PREFIX = "team:"  # an owner that is a team of team.yaml `teams` (metrics_core/owners.py)
_TEAM_REF = re.compile(r"^team:[a-z][a-z0-9_-]*$")


class Owners(BaseModel):
    """Each owner is a person's e-mail or `team:<id>`; that it is someone of team.yaml is checked
    where both configs are known (metrics_assets/oncall/ownership.py, when the definitions load)."""

    model_config = ConfigDict(extra="forbid")
    primary: str
    secondary: str

    @field_validator("primary", "secondary")
    @classmethod
    def _email(cls, v: str) -> str:
        if v.startswith(TEAM_PREFIX):
            if not _TEAM_REF.match(v):
                raise ValueError(f"owner {v!r}: a team owner is 'team:<id>', a lower-case team.yaml teams id")
            return v
        if not _EMAIL.match(v):
            raise ValueError(f"owner {v!r} is not an e-mail address (nor team:<id>, a team of team.yaml)")
        return v.lower()

    @model_validator(mode="after")
    def _differ(self) -> Owners:
        if self.primary == self.secondary:
            raise ValueError(f"primary and secondary owner are both {self.primary!r}; they must differ")
        return self


class Headline(BaseModel):
    """The numbers `metrics up` prints for a pipeline: the latest row of one table."""

    model_config = ConfigDict(extra="forbid")
    table: str
    date_column: str
    columns: list[str] = Field(min_length=1)


_NAME = r"^[a-z][a-z0-9_]*$"


class InvestorTable(BaseModel):
    """A table of schema `investor`: days (or periods) of one dbt model, published fail-closed."""

    model_config = ConfigDict(extra="forbid")
    pipeline: str = ""  # filled from the pipeline that declares the table
    model: str = Field(pattern=_NAME)
    day_column: str = Field(pattern=_NAME)
    period: Literal["day", "month", "quarter"] = "day"
    depends_on_days_after: int = Field(default=0, ge=0, le=120)
    row_key: list[str] = Field(default_factory=list)  # columns telling a unit's rows apart
    derived_from: str | None = None  # period tables: aggregated from this PUBLISHED daily table
    # columns fed by data that lands after the day is published by design (refunds), and how each
    # enters the table's other columns ({refunds_usd: {profit_usd: -1}}): their restatements are
    # recorded but not held against the accuracy SLO
    late_inputs: dict[str, dict[str, float]] = Field(default_factory=dict)
    # its objectives: the config's `slo_defaults`, overridden key by key by the table's `slo`
    slo: Slos = Field(default_factory=Slos)

    @property
    def has_daily_slo(self) -> bool:
        """Freshness per day applies to daily tables that are due the morning after their day."""
        return self.period == "day" and not self.depends_on_days_after


class Feed(BaseModel):
    """A raw feed whose rows for a day keep landing after it: the day is pending until the feed's
    newest landed row is at least `hours_after_day_end` past the day's end."""

    model_config = ConfigDict(extra="forbid")
    source: str
    column: str
    hours_after_day_end: float = Field(ge=0, le=240)

    @model_validator(mode="after")
    def _known(self) -> Feed:
        if self.source not in SOURCES:
            raise ValueError(f"source {self.source!r} is not a raw source {sorted(SOURCES)}")
        if self.column not in {c.name for c in SOURCES[self.source].columns}:
            raise ValueError(f"column {self.column!r} is not a column of raw.{self.source}")
        return self


class Publication(BaseModel):
    """How an investor pipeline publishes: its tables, extra gates and when a day is complete."""

    model_config = ConfigDict(extra="forbid")
    tables: dict[str, InvestorTable] = Field(min_length=1)
    # ERROR checks on these assets gate the pipeline too, beyond its own failure modes
    also_gated_by: list[str] = Field(default_factory=list)
    # a day is complete (publishable) once each feed has landed this far past the day's end
    complete_when: list[Feed] = Field(default_factory=list)

    @model_validator(mode="after")
    def _derivations(self) -> Publication:
        for name, t in self.tables.items():
            if t.derived_from is None:
                continue
            base = self.tables.get(t.derived_from)
            if base is None or base.period != "day":
                raise ValueError(
                    f"tables.{name}.derived_from: {t.derived_from!r} is not a daily table of this pipeline"
                )
            if t.period == "day":
                raise ValueError(f"tables.{name}.derived_from: only month and quarter tables are derived")
        return self


class Pipeline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    domain: str
    audience: Audience
    description: str = ""
    owners: Owners
    sla: Sla
    lookback_days: int = Field(default=7, ge=0, le=60)
    runbook: str = ""  # filled from runbook_base_url when empty
    headline: Headline | None = None
    raw_sources: list[str] = Field(min_length=1)  # the raw tables it reads
    dbt_models: list[str] = Field(min_length=1)  # the dbt models it owns (each model has one owner)
    publication: Publication | None = None  # investor pipelines only

    @field_validator("raw_sources")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(SOURCES))
        if unknown:
            raise ValueError(f"{unknown} are not raw sources {sorted(SOURCES)}")
        return v

    @model_validator(mode="after")
    def _publication_matches_audience(self) -> Pipeline:
        if self.is_investor and self.publication is None:
            raise ValueError("an investor pipeline needs `publication.tables`")
        if not self.is_investor and self.publication is not None:
            raise ValueError("an experiment pipeline publishes nothing (fail-open): remove `publication`")
        for name, t in (self.publication.tables if self.publication else {}).items():
            t.pipeline = self.id
            if t.model not in self.dbt_models:
                raise ValueError(
                    f"publication.tables.{name}.model {t.model!r} is not in this pipeline's dbt_models"
                )
        return self

    @property
    def is_investor(self) -> bool:
        return self.audience is Audience.INVESTOR

    def runbook_link(self, anchor: str | None = None) -> str:
        return f"{self.runbook}#{anchor}" if anchor else self.runbook

    def runbook_url(self, docs_base_url: str, anchor: str | None = None) -> str:
        """A clickable URL of the runbook section (the Dagster UI links URLs, not paths)."""
        link = self.runbook_link(anchor)
        if "://" in link:
            return link
        base = docs_base_url or PROJECT_ROOT.as_uri() + "/"
        return base.rstrip("/") + "/" + link


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric_definitions_version: str
    runbook_base_url: str = "runbooks"
    docs_base_url: str = ""  # where runbook URLs point (a Git host); empty: this checkout, file://
    partitions_start_date: date
    daily_run_cron: str = "0 6 * * *"
    slo_defaults: Slos = Field(default_factory=Slos)
    pipelines: dict[str, Pipeline]

    @model_validator(mode="before")
    @classmethod
    def _inject_ids(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("pipelines"), dict):
            base = data.get("runbook_base_url", "runbooks")
            defaults = data.get("slo_defaults") or {}
            for body in data["pipelines"].values():
                tables = ((body or {}).get("publication") or {}).get("tables") or {}
                for t in tables.values():
                    if isinstance(t, dict) and isinstance(defaults, dict):
                        t["slo"] = _merged(defaults, t.get("slo") or {})
            for pid, body in data["pipelines"].items():
                if isinstance(body, dict):
                    if body.setdefault("id", pid) != pid:
                        raise ValueError(f"pipelines.{pid}.id is {body['id']!r}; the key is the id")
                    body.setdefault("runbook", f"{base}/{pid}.md")
        return data

    @model_validator(mode="after")
    def _each_thing_has_one_pipeline(self) -> PipelineConfig:
        for pid in self.pipelines:
            if not re.match(_NAME, pid):
                raise ValueError(f"pipeline id {pid!r} must be lower_snake_case")
        for what, items in (("dbt model", lambda p: p.dbt_models), ("investor table", lambda p: list(
            p.publication.tables) if p.publication else [])):
            owner: dict[str, str] = {}
            for pid, p in self.pipelines.items():
                for name in items(p):
                    if name in owner:
                        raise ValueError(f"{what} {name!r} is declared by both {owner[name]} and {pid}")
                    owner[name] = pid
        return self

    @model_validator(mode="after")
    def _slo_deadlines_are_daily(self) -> PipelineConfig:
        for pid, p in self.pipelines.items():
            tables = p.publication.tables if p.publication else {}
            daily_slo = [n for n, t in tables.items() if t.has_daily_slo]
            if daily_slo:
                d = p.sla.daily
                if d is None:
                    raise ValueError(
                        f"pipelines.{pid}.sla.daily is required: the daily investor tables {daily_slo} have "
                        "a freshness SLO and an SLA-at-risk alert per day, counted from the daily deadline"
                    )
                try:
                    daily_deadline(self.partitions_start_date, d.deadline_cron, d.timezone)
                except ValueError as exc:
                    raise ValueError(f"pipelines.{pid}.sla.daily: {exc} (freshness SLO)") from None
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.pipelines)

    @property
    def investor_tables(self) -> dict[str, InvestorTable]:
        """Every investor table of every pipeline, by table name."""
        pubs = [p.publication for p in self.pipelines.values() if p.publication]
        return {name: t for pub in pubs for name, t in pub.tables.items()}

    def pipeline_of_model(self, model: str) -> str | None:
        return next((pid for pid, p in self.pipelines.items() if model in p.dbt_models), None)

    def runbook_url(self, pipeline_id: str, anchor: str | None = None) -> str:
        return self.get(pipeline_id).runbook_url(self.docs_base_url, anchor)

    def get(self, pipeline_id: str) -> Pipeline:
        try:
            return self.pipelines[pipeline_id]
        except KeyError:
            raise ConfigError(
                f"unknown pipeline id {pipeline_id!r}; known ids are {sorted(self.pipelines)}"
            ) from None


def _merged(base: dict, override: dict) -> dict:
    """`base` with `override` laid over it, key by key (nested dicts merged, not replaced)."""
    out = dict(base)
    for k, v in override.items():
        out[k] = _merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def _format_errors(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid config"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        lines.append(f"  - {loc or '<root>'}: {e['msg']}")
    return "\n".join(lines)


def read_yaml(path: Path) -> Any:
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def load_model(model: type[M], path: Path) -> M:
    """Parse `path` into `model`, turning pydantic errors into a ConfigError that names each key."""
    try:
        return model.model_validate(read_yaml(path))
    except ValidationError as err:
        raise ConfigError(_format_errors(path, err)) from None


def load_pipeline_config(path: Path | None = None) -> PipelineConfig:
    return load_model(PipelineConfig, path or config_dir() / "pipelines.yaml")


@cache
def pipeline_config() -> PipelineConfig:
    """The validated pipeline config, loaded once per process."""
    return load_pipeline_config()
