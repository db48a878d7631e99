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
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from metrics_core.paths import PROJECT_ROOT, config_dir

PIPELINE_IDS = ("profit_unit", "profit_agg", "growth_agg", "growth_daily", "engagement_agg")
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
    model_config = ConfigDict(extra="forbid")
    daily: Deadline
    monthly: Deadline | None = None


class Owners(BaseModel):
    model_config = ConfigDict(extra="forbid")
    primary: str
    secondary: str

    @field_validator("primary", "secondary")
    @classmethod
    def _email(cls, v: str) -> str:
        if not _EMAIL.match(v):
            raise ValueError(f"owner {v!r} is not an e-mail address")
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
    pipelines: dict[str, Pipeline]

    @model_validator(mode="before")
    @classmethod
    def _inject_ids(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("pipelines"), dict):
            base = data.get("runbook_base_url", "runbooks")
            for pid, body in data["pipelines"].items():
                if isinstance(body, dict):
                    body.setdefault("id", pid)
                    body.setdefault("runbook", f"{base}/{pid}.md")
        return data

    @model_validator(mode="after")
    def _known_ids(self) -> PipelineConfig:
        unknown = sorted(set(self.pipelines) - set(PIPELINE_IDS))
        if unknown:
            raise ValueError(f"unknown pipeline id(s) {unknown}; known ids are {list(PIPELINE_IDS)}")
        missing = sorted(set(PIPELINE_IDS) - set(self.pipelines))
        if missing:
            raise ValueError(f"pipeline(s) {missing} missing from the config")
        return self

    def runbook_url(self, pipeline_id: str, anchor: str | None = None) -> str:
        return self.get(pipeline_id).runbook_url(self.docs_base_url, anchor)

    def get(self, pipeline_id: str) -> Pipeline:
        try:
            return self.pipelines[pipeline_id]
        except KeyError:
            raise ConfigError(
                f"unknown pipeline id {pipeline_id!r}; known ids are {sorted(self.pipelines)}"
            ) from None


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
