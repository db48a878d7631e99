"""Experiments and their variant splits (config/experiments.yaml): read by the generator, which
assigns users, and by the sample-ratio check, which tests the observed split against them."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from metrics_core.config import ConfigError, load_model
from metrics_core.paths import config_dir


def weights_sum_to_one(name: str, weights: dict[str, float]) -> dict[str, float]:
    if not weights:
        raise ValueError(f"{name} must not be empty")
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"{name} has a negative weight: {weights}")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{name} weights sum to {total}, not 1")
    return weights


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    start_date: date
    end_date: date | None = None
    variants: dict[str, float] = Field(min_length=2)

    @field_validator("variants")
    @classmethod
    def _split(cls, v: dict[str, float]) -> dict[str, float]:
        return weights_sum_to_one("variants", v)

    @model_validator(mode="after")
    def _dates(self) -> Experiment:
        if self.end_date is not None and self.end_date <= self.start_date:
            raise ValueError(f"experiment {self.id}: end_date must be after start_date")
        return self


class ExperimentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experiments: list[Experiment]

    @model_validator(mode="after")
    def _unique(self) -> ExperimentsConfig:
        ids = [e.id for e in self.experiments]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate experiment id(s) {dup}")
        return self

    def get(self, experiment_id: str) -> Experiment:
        for e in self.experiments:
            if e.id == experiment_id:
                return e
        raise ConfigError(f"unknown experiment id {experiment_id!r}")


def load_experiments(path: Path | None = None) -> ExperimentsConfig:
    return load_model(ExperimentsConfig, path or config_dir() / "experiments.yaml")


@cache
def experiments() -> ExperimentsConfig:
    return load_experiments()
