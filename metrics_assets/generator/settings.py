"""The generator's knobs: the `generator:` section of config/world.yaml (experiments: core.experiments).

Every base rate of the synthetic world's messy parts lives in config so tests and demos can
turn them up or down without touching code; a bad value is refused naming its key.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from metrics_core.config import ConfigError, _format_errors, read_yaml
from metrics_core.experiments import weights_sum_to_one
from metrics_core.paths import config_dir
from metrics_core.rules import metric_rules

Share = Field(ge=0, le=1)


class WeekdayFactors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signups: list[float] = Field(min_length=7, max_length=7)
    activity: list[float] = Field(min_length=7, max_length=7)
    orders: list[float] = Field(min_length=7, max_length=7)


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(ge=0)
    cpa_usd: float = Field(ge=0)


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(ge=0)
    countries: list[str] = Field(min_length=1)
    currencies: dict[str, float]

    @field_validator("currencies")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        return weights_sum_to_one("currencies", v)


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(ge=0)
    p_active: float = Share
    events_per_day: float = Field(ge=1)


class GeneratorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signups_per_day_at_launch: float = Field(gt=0)
    signup_growth_per_year: float = Field(ge=-0.9, le=10)
    daily_noise: float = Field(ge=0, le=0.5)
    weekday_factors: WeekdayFactors
    channels: dict[str, Channel] = Field(min_length=2)
    regions: dict[str, Region] = Field(min_length=1)
    fx_usd_per_unit: dict[str, float]
    fx_rate_set_prefix: str
    segments: dict[str, Segment] = Field(min_length=1)
    sessions_per_active_day: float = Field(ge=1)
    session_minutes_mean: float = Field(gt=0)
    activation_rate: float = Share
    event_type_weights: dict[str, float]
    orders_per_active_user: float = Field(ge=0)
    order_usd_log_mean: float
    order_usd_log_sd: float = Field(ge=0)
    discount_rate: float = Share
    order_status_weights: dict[str, float]
    midnight_edge_share: float = Share
    test_order_rate: float = Share
    refund_rate: float = Share
    refund_lag_mean_days: float = Field(gt=0)
    refund_max_lag_days: int = Field(ge=0, le=60)
    failed_payment_rate: float = Share
    shipping_line_rate: float = Share
    churn_rate_per_day: float = Field(ge=0, lt=1)
    duplicate_signup_rate: float = Share
    bot_signup_rate: float = Share
    duplicate_event_rate: float = Share
    anonymous_event_rate: float = Share
    bot_ua_event_rate: float = Share
    flood_ips_per_day_at_sf1: float = Field(ge=0)
    flood_burst_events: tuple[int, int]

    @model_validator(mode="after")
    def _consistent(self) -> GeneratorSettings:
        rules = metric_rules()
        weights_sum_to_one("channels", {k: c.weight for k, c in self.channels.items()})
        weights_sum_to_one("regions", {k: r.weight for k, r in self.regions.items()})
        weights_sum_to_one("segments", {k: s.weight for k, s in self.segments.items()})
        weights_sum_to_one("event_type_weights", self.event_type_weights)
        weights_sum_to_one("order_status_weights", self.order_status_weights)
        unknown = sorted(set(self.event_type_weights) - set(rules.accepted_event_types))
        if unknown:
            raise ValueError(
                f"event_type_weights has types {unknown} not in metrics.yaml accepted_event_types"
            )
        unknown = sorted(set(self.order_status_weights) - set(rules.order_statuses))
        if unknown:
            raise ValueError(
                f"order_status_weights has statuses {unknown} not in metrics.yaml order_statuses"
            )
        if "completed" not in self.order_status_weights:
            raise ValueError("order_status_weights needs 'completed'")
        used = {c for r in self.regions.values() for c in r.currencies}
        missing = sorted(used - set(self.fx_usd_per_unit))
        if missing:
            raise ValueError(f"currencies {missing} are used by regions but have no fx_usd_per_unit")
        if self.fx_usd_per_unit.get("USD") != 1.0:
            raise ValueError("fx_usd_per_unit.USD must be 1.0")
        if self.bot_signup_rate + self.duplicate_signup_rate >= 1:
            raise ValueError("bot_signup_rate + duplicate_signup_rate must be below 1")
        lo, hi = self.flood_burst_events
        if not rules.max_events_per_ip_minute < lo <= hi:
            raise ValueError(
                f"flood_burst_events {list(self.flood_burst_events)} must exceed metrics.yaml "
                f"max_events_per_ip_minute ({rules.max_events_per_ip_minute}) so the bursts are bots"
            )
        return self

    @property
    def currencies(self) -> list[str]:
        return sorted(self.fx_usd_per_unit)


def load_generator_settings(path: Path | None = None) -> GeneratorSettings:
    path = path or config_dir() / "world.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict) or "generator" not in data:
        raise ConfigError(f"{path}: missing key 'generator'")
    try:
        return GeneratorSettings.model_validate(data["generator"])
    except ValidationError as err:
        raise ConfigError(_format_errors(path, err).replace("  - ", "  - generator.")) from None


@cache
def generator_settings() -> GeneratorSettings:
    return load_generator_settings()
