"""SLA -> Dagster FreshnessPolicy, one rule for dbt and Python assets alike."""

from datetime import timedelta
from functools import lru_cache

import dagster as dg

from metrics_core.config import ConfigError, Pipeline


@lru_cache(maxsize=64)
def _cron_policy(deadline_cron: str, lower_bound: timedelta, timezone: str) -> dg.FreshnessPolicy:
    """Built once per distinct SLA: FreshnessPolicy.cron validates by walking a year of cron ticks
    (~9 ms each), and the translator asks for a policy hundreds of times per definitions load."""
    return dg.FreshnessPolicy.cron(
        deadline_cron=deadline_cron, lower_bound_delta=lower_bound, timezone=timezone
    )


def freshness_policy_for(pipeline: Pipeline, sla: str = "daily") -> dg.FreshnessPolicy:
    """The cron freshness policy for a pipeline's `daily` or `monthly` SLA (config/pipelines.yaml)."""
    deadline = {"daily": pipeline.sla.daily, "monthly": pipeline.sla.monthly}.get(sla)
    if deadline is None:
        raise ConfigError(f"pipeline {pipeline.id!r} has no sla.{sla} deadline in config/pipelines.yaml")
    try:
        return _cron_policy(deadline.deadline_cron, deadline.lower_bound, deadline.timezone)
    except Exception as exc:  # dagster raises CheckError for inconsistent cron/bound/timezone
        raise ConfigError(f"pipelines.{pipeline.id}.sla.{sla}: {exc}") from None
