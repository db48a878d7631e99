"""What every dbt invocation receives: the date window plus the versioned rule parameters.

dbt models read thresholds and versions only from these vars, so config/*.yaml stays the one
place where they are set.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from metrics_core.config import pipeline_config
from metrics_core.rules import metric_rules


def dbt_vars(start: date, end: date) -> dict[str, Any]:
    """Vars for building the partitions [start, end) (end exclusive, UTC days) by hand: the rule
    vars plus the window as vars."""
    return {**_window(start, end), **dbt_rule_vars()}


def dbt_window_env(start: date, end: date) -> dict[str, str]:
    """The window as the environment of a dbt invocation (what the Dagster runs pass): the rule
    vars stay the same from run to run, so dbt's partial parse is kept (macros/window.sql)."""
    return {f"METRICS_DBT_{k.upper()}": v for k, v in _window(start, end).items()}


def _window(start: date, end: date) -> dict[str, str]:
    if end <= start:
        raise ValueError(f"empty dbt window: start {start} must be before end {end}")
    return {"min_date": start.isoformat(), "max_date": end.isoformat()}


def dbt_rule_vars() -> dict[str, Any]:
    """Every rule parameter and version the models read (the same in every run)."""
    rules = metric_rules()
    cfg = pipeline_config()
    return {
        # per model: the lookback of the pipeline that owns it (config/pipelines.yaml dbt_models)
        "lookback_days": {m: p.lookback_days for p in cfg.pipelines.values() for m in p.dbt_models},
        "metric_definitions_version": cfg.metric_definitions_version,
        "rules_version": rules.rules_version,
        "cost_table_version": rules.cost_table_version,
        "bot_ua_regex": rules.bot_regex,
        "max_events_per_ip_minute": rules.max_events_per_ip_minute,
        "session_gap_minutes": rules.session_gap_minutes,
        "activation_window_hours": rules.activation_window_hours,
        "accepted_event_types": rules.accepted_event_types,
        "cost_types": rules.cost_types,
    }


def dbt_vars_json(start: date, end: date) -> str:
    return json.dumps(dbt_vars(start, end), sort_keys=True)


def dbt_rule_vars_json() -> str:
    return json.dumps(dbt_rule_vars(), sort_keys=True)
