"""SLA -> Dagster FreshnessPolicy, one rule for dbt and Python assets alike.

`daily`, `weekly` and `monthly` deadlines become cron policies (refreshed within
[deadline - lower_bound, deadline] of each tick); `within_hours: N` ("data within 48 hours of the
activity") becomes a time-window policy that fails once the newest materialization is N hours old.
"""

from datetime import timedelta
from functools import lru_cache

import dagster as dg

from metrics_core.config import ConfigError, Pipeline

SHAPES = ("daily", "weekly", "monthly", "within_hours")


@lru_cache(maxsize=64)
def _cron_policy(deadline_cron: str, lower_bound: timedelta, timezone: str) -> dg.FreshnessPolicy:
    """Built once per distinct SLA: FreshnessPolicy.cron validates by walking a year of cron ticks
    (~9 ms each), and the translator asks for a policy hundreds of times per definitions load."""
    return dg.FreshnessPolicy.cron(
        deadline_cron=deadline_cron, lower_bound_delta=lower_bound, timezone=timezone
    )


@lru_cache(maxsize=64)
def _window_policy(hours: float) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=hours))


def freshness_policy_for(pipeline: Pipeline, sla: str = "daily") -> dg.FreshnessPolicy:
    """The freshness policy of one of a pipeline's SLA shapes (config/pipelines.yaml `sla.<shape>`)."""
    if sla not in SHAPES:
        raise ValueError(f"unknown SLA shape {sla!r}; known: {SHAPES}")
    value = getattr(pipeline.sla, sla)
    if value is None:
        raise ConfigError(f"pipeline {pipeline.id!r} has no sla.{sla} in config/pipelines.yaml")
    try:
        if sla == "within_hours":
            return _window_policy(float(value))
        return _cron_policy(value.deadline_cron, value.lower_bound, value.timezone)
    except Exception as exc:  # dagster raises CheckError for inconsistent cron/bound/timezone
        raise ConfigError(f"pipelines.{pipeline.id}.sla.{sla}: {exc}") from None
