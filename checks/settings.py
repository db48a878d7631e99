"""Typed thresholds of the runbook checks (config/checks.yaml).

Checks read every number from here so a threshold is changed in one YAML file; a missing or
out-of-range value is refused at load with a message naming the key.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from metrics_core.config import ConfigError, load_model
from metrics_core.paths import config_dir
from metrics_core.sources import SOURCES

Direction = Literal["both", "drop", "spike"]
Pct = Field(gt=0, le=10)
Share = Field(ge=0, le=1)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Deviation(_M):
    floor_pct: float = Pct
    direction: Direction = "both"
    min_volume: float = Field(default=0, ge=0)  # expected daily value below which a day is not scored


class CostCoverage(_M):
    min_coverage: float = Share
    cost_lines_max_lag_hours: float = Field(ge=0)
    required_cost_types: list[str] = Field(min_length=1)
    min_orders_per_region: int = Field(ge=1)


class LateRefunds(_M):
    max_late_share: float = Share
    min_late_count: int = Field(ge=1)


class Fx(_M):
    base_currency: str


class Reconciliation(_M):
    tolerance_usd: float = Field(ge=0)


class Timezone(_M):
    max_negative_payment_lag_share: float = Share
    max_median_payment_lag_minutes: float = Field(gt=0)
    min_orders: int = Field(ge=1)


class RunDuration(_M):
    asset_key: str = Field(min_length=1)
    max_seconds: float = Field(gt=0)
    floor_pct: float = Pct
    min_runs: int = Field(ge=2)
    min_seconds: float = Field(ge=0)


class FeedFreshness(_M):
    min_orders_share_of_baseline: float = Share


class OrdersVolume(Deviation):
    freshness_min_minutes: float = Field(gt=0)
    freshness_gap_multiple: float = Field(gt=0)


class FxJump(_M):
    """A currency's rate against its own history: real rates move a few percent a day at most."""

    floor_pct: float = Pct
    direction: Direction = "both"


class CostRates(_M):
    """Cost per unit of revenue of each cost type (the cost table's output) against its history."""

    floor_pct: float = Pct
    direction: Direction = "both"
    cost_types: list[str] = Field(min_length=1)
    min_orders: int = Field(ge=1)  # orders with the cost line on the day, below which it is not judged


class Profit(_M):
    orders_volume: OrdersVolume
    cost_coverage: CostCoverage
    late_refunds: LateRefunds
    fx: Fx
    reconciliation: Reconciliation
    timezone: Timezone
    profit_deviation: Deviation
    run_duration: RunDuration
    feed_freshness: FeedFreshness
    fx_jump: FxJump
    cost_rates: CostRates


class MarketingSpend(_M):
    active_window_days: int = Field(ge=1, le=90)


class ChurnLog(_M):
    floor_pct: float = Pct
    min_volume: float = Field(ge=0)
    max_hours_since_last_closure: float = Field(gt=0)
    gap_multiple: float = Field(gt=0)
    rate_window_days: int = Field(ge=7, le=120)


class NetGrowth(_M):
    max_abs_share_of_active: float = Field(gt=0, le=10)
    min_active_accounts: int = Field(ge=1)


class PooledShare(_M):
    """A day's share of signups (bots, repeat signups) against the pooled rate of the previous days."""

    floor_pp: float = Share
    p_value: float = Field(gt=0, lt=1)
    baseline_days: int = Field(ge=7, le=120)


BotSignups = PooledShare


class Growth(_M):
    marketing_spend: MarketingSpend
    churn_log: ChurnLog
    net_growth: NetGrowth
    new_users_deviation: Deviation
    bot_signups: PooledShare
    repeat_signups: PooledShare


class EventFreshness(_M):
    max_lag_minutes: float = Field(gt=0)


class DuplicateRate(_M):
    floor_pp: float = Share
    max_rate: float = Share


class MaxShare(_M):
    max_share: float = Share


class BotShare(_M):
    floor_pp: float = Share


class EngagementValues(_M):
    dau_mau_min: float = Share
    dau_mau_max: float = Share
    mau_days: int = Field(ge=1, le=90)


class Engagement(_M):
    event_freshness: EventFreshness
    events_volume: Deviation
    duplicate_rate: DuplicateRate
    unknown_event_types: MaxShare
    bot_share: BotShare
    engagement_values: EngagementValues
    session_length: Deviation
    dau_deviation: Deviation


class Srm(_M):
    p_value: float = Field(gt=0, lt=1)
    window_days: int = Field(ge=1, le=365)
    min_assignments: int = Field(ge=1)


class Experiments(_M):
    srm: Srm


class ClosedPeriod(_M):
    approval_tag: str = Field(min_length=1)


class Publication(_M):
    schema_: str = Field(alias="schema", min_length=1)
    closed_period: ClosedPeriod


class Sources(_M):
    sample_rows: int = Field(ge=0)
    full_sample_max_days: int = Field(ge=1)
    long_range_sample_rows: int = Field(ge=0)


class CriticalFields(_M):
    """Null rate of the fields a published number is computed from, per raw source and column:
    above `max_share` a day fails outright; above its same-weekday baseline by `floor_pp` too."""

    floor_pp: float = Share
    min_rows: int = Field(ge=1)  # rows of the day below which the baseline rule does not judge
    fields: dict[str, dict[str, float]] = Field(min_length=1)  # source -> column -> max null share

    @model_validator(mode="after")
    def _known_columns(self) -> CriticalFields:

        for source, cols in self.fields.items():
            key = f"critical_fields.fields.{source}"
            if source not in SOURCES:
                raise ValueError(f"{key}: not a raw source {sorted(SOURCES)}")
            known = {c.name for c in SOURCES[source].columns}
            for col, share in cols.items():
                if col not in known:
                    raise ValueError(f"{key}.{col}: raw.{source} has no column {col!r}")
                if not 0 <= share <= 1:
                    raise ValueError(f"{key}.{col}: max null share {share} is not within [0, 1]")
        return self


class CheckSettings(_M):
    version: str
    sources: Sources
    critical_fields: CriticalFields
    anomaly: dict[str, Any]  # validated by checks/anomaly.py (AnomalyParams)
    profit: Profit
    growth: Growth
    engagement: Engagement
    experiments: Experiments
    publication: Publication


T = TypeVar("T", bound=BaseModel)


def thresholds_at(settings: CheckSettings, path: str, cls: type[T]) -> T:
    """The thresholds at dotted `path` of config/checks.yaml (e.g. profit.profit_deviation)."""
    node: Any = settings
    for part in path.split("."):
        node = getattr(node, part, None)
    if not isinstance(node, cls):
        raise ConfigError(f"config/checks.yaml has no {cls.__name__} thresholds at {path!r}")
    return node


def load_check_settings(path: Path | None = None) -> CheckSettings:
    return load_model(CheckSettings, path or config_dir() / "checks.yaml")


@cache
def check_settings() -> CheckSettings:
    """The validated check thresholds, loaded once per process."""
    return load_check_settings()
