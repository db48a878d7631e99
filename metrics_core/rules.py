"""The versioned metric-rule parameters (config/metrics.yaml) and the synthetic world (config/world.yaml)."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from metrics_core.config import load_model
from metrics_core.paths import config_dir


class MetricRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules_version: str
    bot_user_agent_patterns: list[str] = Field(min_length=1)
    max_events_per_ip_minute: int = Field(gt=0)
    session_gap_minutes: int = Field(gt=0)
    activation_window_hours: int = Field(gt=0)
    accepted_event_types: list[str] = Field(min_length=1)
    cost_types: list[str] = Field(min_length=1)
    order_statuses: list[str] = Field(min_length=1)
    cost_table_version: str

    @field_validator("bot_user_agent_patterns")
    @classmethod
    def _regex(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"bot pattern {p!r} is not a valid regular expression: {exc}") from exc
        return v

    @property
    def bot_regex(self) -> str:
        """One case-insensitive regular expression for SQL `regexp_matches(ua, pattern, 'i')`."""
        return "|".join(f"(?:{p})" for p in self.bot_user_agent_patterns)


class World(BaseModel):
    model_config = ConfigDict(extra="forbid")
    launch_date: date
    seed: int
    scale_factor: float = Field(gt=0, le=50)
    generator: dict[str, Any] = Field(default_factory=dict)  # validated by metrics_assets.generator.settings


@cache
def metric_rules() -> MetricRules:
    return load_model(MetricRules, config_dir() / "metrics.yaml")


@cache
def world() -> World:
    return load_model(World, config_dir() / "world.yaml")
