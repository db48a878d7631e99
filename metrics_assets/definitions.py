"""The one place that assembles the code location's Definitions."""

import dagster as dg
from dagster_dbt import DbtCliResource

from metrics_assets.dbt_assets import DBT_PROJECT, metrics_dbt_models
from metrics_assets.jobs import ALL_PIPELINES_JOB, DAILY_SCHEDULE
from metrics_assets.raw_assets import RAW_ASSETS
from metrics_assets.rules import world
from resources.raw_source import RawSource
from resources.warehouse import Warehouse


def build_resources() -> dict[str, object]:
    warehouse = Warehouse.from_env()
    w = world()
    return {
        "warehouse": warehouse,
        "raw_source": RawSource(
            mode="synthetic" if warehouse.backend == "duckdb" else "landed",
            scale_factor=w.scale_factor, seed=w.seed, launch_date=w.launch_date.isoformat(),
        ),
        "dbt": DbtCliResource(project_dir=DBT_PROJECT, profiles_dir=str(DBT_PROJECT.profiles_dir),
                              target=DBT_PROJECT.target),
    }


defs = dg.Definitions(
    assets=[*RAW_ASSETS, metrics_dbt_models],
    jobs=[ALL_PIPELINES_JOB],
    schedules=[DAILY_SCHEDULE],
    resources=build_resources(),
    # The embedded DuckDB file takes one writer at a time, so steps run in one process.
    executor=dg.in_process_executor,
)
