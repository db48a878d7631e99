"""The failure-mode catalogue (checks/failure_modes.yaml): failure mode -> checks -> runbook link.

One place says which check catches which runbook failure mode, on which asset, at which
severity and where the on-call engineer reads about it; the Dagster checks, the CI runner, the
publication gates and the coverage tests are all generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from checks.settings import CheckSettings, check_settings, thresholds_at
from checks.vocabulary import CUSTOM, KIND_PARAMS
from metrics_core.config import ConfigError, PipelineConfig, pipeline_config
from metrics_core.sources import SOURCES

CATALOGUE_PATH = Path(__file__).with_name("failure_modes.yaml")
RAW_PREFIX = "raw/"


class Severity(StrEnum):
    ERROR = "ERROR"
    WARN = "WARN"


class _CheckEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: str = Field(pattern=r"^(raw/)?[a-z][a-z0-9_]*$")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    severity: Severity
    kind: str = CUSTOM  # checks/vocabulary.py; custom = its own @implements function
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _params_of_kind(self, info: ValidationInfo) -> _CheckEntry:
        where = f"check {self.asset}:{self.name}"
        if self.kind == CUSTOM:
            if self.params:
                raise ValueError(f"{where}: kind custom takes no params (its function reads checks.yaml)")
            return self
        if self.kind not in KIND_PARAMS:
            raise ValueError(f"{where}: unknown kind {self.kind!r}; kinds are {[CUSTOM, *KIND_PARAMS]}")
        try:
            params = KIND_PARAMS[self.kind](**self.params)
        except ValidationError as err:
            bad = "; ".join(f"params.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            raise ValueError(f"{where} (kind {self.kind}): {bad}") from None
        if params.THRESHOLDS is not None:
            try:
                thresholds_at(info.context["settings"], params.thresholds, params.THRESHOLDS)
            except ConfigError as exc:
                raise ValueError(f"{where}: params.thresholds: {exc}") from None
        return self


class _FailureMode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pipeline: str  # the pipeline it belongs to: its checks route there, its runbook section is there
    title: str
    symptom: str
    validation: str
    checks: list[_CheckEntry] = Field(min_length=1)


class _Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failure_modes: dict[str, _FailureMode] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> _Catalogue:
        pipelines: PipelineConfig = info.context["pipelines"]
        seen: dict[tuple[str, str], str] = {}
        for fm_id, fm in self.failure_modes.items():
            if fm.pipeline not in pipelines.pipelines:
                raise ValueError(
                    f"failure mode {fm_id}: pipeline {fm.pipeline!r} is not one of {list(pipelines.ids)} "
                    "(config/pipelines.yaml)"
                )
            reads = pipelines.get(fm.pipeline).raw_sources
            for c in fm.checks:
                key = (c.asset, c.name)
                if key in seen:
                    raise ValueError(f"check {c.asset}:{c.name} is listed under {seen[key]} and {fm_id}")
                seen[key] = fm_id
                if c.asset.startswith(RAW_PREFIX) and c.asset[len(RAW_PREFIX) :] not in SOURCES:
                    raise ValueError(f"failure mode {fm_id}: {c.asset} is not a raw source {sorted(SOURCES)}")
                if c.asset.startswith(RAW_PREFIX) and c.asset[len(RAW_PREFIX) :] not in reads:
                    raise ValueError(
                        f"failure mode {fm_id}: {c.asset} is not one of {fm.pipeline}'s raw_sources {reads}"
                    )
        return self


@dataclass(frozen=True)
class CheckDef:
    """One asset check of the catalogue, with everything its metadata and gating need."""

    failure_mode: str
    asset: str  # "raw/orders" or a dbt model name
    name: str
    severity: Severity
    pipeline: str  # the runbook's pipeline id
    title: str
    validation: str
    kind: str = CUSTOM
    params_items: tuple[tuple[str, Any], ...] = ()

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.params_items)

    @property
    def key(self) -> str:
        return f"{self.asset}:{self.name}"

    @property
    def is_raw(self) -> bool:
        return self.asset.startswith(RAW_PREFIX)

    @property
    def asset_path(self) -> list[str]:
        """The Dagster asset key path: ["raw", table] for sources, [model] for dbt models."""
        return self.asset.split("/")

    @property
    def runbook_link(self) -> str:
        return pipeline_config().get(self.pipeline).runbook_link(self.failure_mode)

    @property
    def runbook_url(self) -> str:
        return pipeline_config().runbook_url(self.pipeline, self.failure_mode)

    @property
    def is_investor(self) -> bool:
        return pipeline_config().get(self.pipeline).is_investor

    @property
    def blocking(self) -> bool:
        """ERROR checks on investor marts block downstream; raw checks never do (the dbt op
        also builds the fail-open experiment models) and experiment pipelines fail open."""
        return self.severity is Severity.ERROR and not self.is_raw and self.is_investor


@dataclass(frozen=True)
class Catalogue:
    failure_modes: dict[str, _FailureMode]
    checks: tuple[CheckDef, ...]
    pipelines: PipelineConfig

    def by_failure_mode(self, fm_id: str) -> list[CheckDef]:
        return [c for c in self.checks if c.failure_mode == fm_id]

    def get(self, asset: str, name: str) -> CheckDef:
        for c in self.checks:
            if c.asset == asset and c.name == name:
                return c
        raise KeyError(f"no check {asset}:{name} in {CATALOGUE_PATH.name}")

    def gates_for(self, pipeline: str) -> list[CheckDef]:
        """ERROR checks that must have passed for a day before `pipeline` may publish it: its own,
        and those on the assets its `publication.also_gated_by` names (config/pipelines.yaml)."""
        pub = self.pipelines.get(pipeline).publication
        extra = set(pub.also_gated_by if pub else [])
        return [
            c
            for c in self.checks
            if c.severity is Severity.ERROR and (c.pipeline == pipeline or c.asset in extra)
        ]


def load_catalogue(
    path: Path | None = None, pipelines: PipelineConfig | None = None, settings: CheckSettings | None = None
) -> Catalogue:
    """The catalogue at `path`, validated against the pipelines it names (config/pipelines.yaml)
    and the thresholds its kinds refer to (config/checks.yaml)."""
    path = path or CATALOGUE_PATH
    pipelines = pipelines or pipeline_config()
    context = {"pipelines": pipelines, "settings": settings or check_settings()}
    try:
        raw = yaml.safe_load(path.read_text())
        cat = _Catalogue.model_validate(raw, context=context)
    except FileNotFoundError:
        raise ConfigError(f"failure-mode catalogue {path} does not exist") from None
    except ValidationError as err:
        lines = [f"{path}: invalid catalogue"]
        lines += [f"  - {'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in err.errors()]
        raise ConfigError("\n".join(lines)) from None
    checks = tuple(
        CheckDef(fm_id, c.asset, c.name, c.severity, fm.pipeline, fm.title, fm.validation, c.kind,
                 tuple(sorted(c.params.items())))
        for fm_id, fm in cat.failure_modes.items()
        for c in fm.checks
    )
    return Catalogue(cat.failure_modes, checks, pipelines)


@cache
def catalogue() -> Catalogue:
    """The validated catalogue, loaded once per process."""
    return load_catalogue()
