"""The main job (every daily-partitioned asset of the five pipelines) and its daily schedule."""

import dagster as dg

from metrics_assets.orchestration.partitions import DAILY
from metrics_core.config import PipelineConfig

ALL_PIPELINES_JOB = dg.define_asset_job(
    name="all_pipelines",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ops"),
    partitions_def=DAILY,
    description="Raw sources -> dbt staging/intermediate/marts -> checks -> investor publication, "
    "for one day or (as a single run) a range of days.",
)

def build_daily_schedule(pipelines: PipelineConfig) -> dg.ScheduleDefinition:
    """The main job each morning at `daily_run_cron` (config/pipelines.yaml), for yesterday."""
    minute, hour, *_ = pipelines.daily_run_cron.split()
    return dg.build_schedule_from_partitioned_job(
        ALL_PIPELINES_JOB,
        hour_of_day=int(hour),
        minute_of_hour=int(minute),
        name="all_pipelines_daily",
        # on from the first `make up`: a UI left running keeps publishing yesterday each morning
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
