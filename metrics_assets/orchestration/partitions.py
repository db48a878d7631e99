"""The one daily partitioning (UTC days) shared by every raw, dbt, publish and check asset."""

from datetime import date, datetime, timedelta

import dagster as dg

from metrics_core.config import pipeline_config

DAILY = dg.DailyPartitionsDefinition(
    start_date=pipeline_config().partitions_start_date.isoformat(), timezone="UTC"
)
SINGLE_RUN = dg.BackfillPolicy.single_run()


def window_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """The [start, end) UTC days a run covers: one partition, or a single-run backfill range."""
    tw = context.partition_time_window
    return tw.start.date(), tw.end.date()


def days_in(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def partition_key(day: date | datetime) -> str:
    return day.strftime("%Y-%m-%d")
