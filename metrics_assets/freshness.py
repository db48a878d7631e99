"""SLA -> Dagster FreshnessPolicy, one rule for dbt and Python assets alike."""

import dagster as dg

from metrics_assets.config import ConfigError, Pipeline


def freshness_policy_for(pipeline: Pipeline, sla: str = "daily") -> dg.FreshnessPolicy:
    """The cron freshness policy for a pipeline's `daily` or `monthly` SLA (config/pipelines.yaml)."""
    deadline = {"daily": pipeline.sla.daily, "monthly": pipeline.sla.monthly}.get(sla)
    if deadline is None:
        raise ConfigError(f"pipeline {pipeline.id!r} has no sla.{sla} deadline in config/pipelines.yaml")
    try:
        return dg.FreshnessPolicy.cron(
            deadline_cron=deadline.deadline_cron,
            lower_bound_delta=deadline.lower_bound,
            timezone=deadline.timezone,
        )
    except Exception as exc:  # dagster raises CheckError for inconsistent cron/bound/timezone
        raise ConfigError(f"pipelines.{pipeline.id}.sla.{sla}: {exc}") from None
