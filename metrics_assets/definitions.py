"""The one place that assembles the code location's Definitions."""

import gc

# Loading the location allocates about a million long-lived objects (Dagster, dagster-dbt, dbt, the
# manifest); with the cyclic GC on, Python scans them again and again while they are created:
# 3.9 s cold, 2.3 s with the GC paused (scripts/bench_startup.py, BENCHMARKS.md). Paused for the
# imports, then those objects are frozen out of every later collection and the GC runs as before.
_GC_WAS_ON = gc.isenabled()
gc.disable()
try:
    import dagster as dg

    from checks.registry import load_catalogue
    from metrics_assets.alerting.runtime import AlertRuntime
    from metrics_assets.alerting.sensors import build_alert_sensors
    from metrics_assets.asset_checks import build_asset_checks
    from metrics_assets.dashboards.assets import (
        DASHBOARDS_JOB,
        build_dashboards_asset,
        rebuild_dashboards_after_runs,
    )
    from metrics_assets.generator.landing import SyntheticRawSource
    from metrics_assets.ingest.raw_assets import RAW_ASSETS
    from metrics_assets.oncall.assets import build_oncall_assets
    from metrics_assets.oncall.horizon import RUNBOOK as ONCALL_RUNBOOK
    from metrics_assets.oncall.ownership import validate_ownership
    from metrics_assets.orchestration.jobs import ALL_PIPELINES_JOB, build_daily_schedule
    from metrics_assets.pipeline_policy import pipeline_stamp
    from metrics_assets.publication.publish import build_publish_assets
    from metrics_assets.transform.dbt_assets import DBT_PROJECT, build_dbt_assets, validate_dbt_models
    from metrics_assets.transform.dbt_cli import MetricsDbtCli, dbt_executable
    from metrics_core.alerting_settings import AlertingSettings, alerting_settings, roles_of
    from metrics_core.config import PipelineConfig, pipeline_config
    from metrics_core.paths import PROJECT_ROOT
    from metrics_core.rules import world
    from metrics_core.team import TeamConfig, team_config
    from resources.raw_source import RawSource
    from resources.warehouse import Warehouse
finally:
    gc.freeze()
    if _GC_WAS_ON:
        gc.enable()


def build_resources(warehouse: Warehouse | None = None) -> dict[str, object]:
    warehouse = warehouse or Warehouse.from_env()
    w = world()
    return {
        "warehouse": warehouse,
        # the embedded default generates its raw data; production verifies what was landed
        "raw_source": (
            SyntheticRawSource(
                scale_factor=w.scale_factor, seed=w.seed, launch_date=w.launch_date.isoformat()
            )
            if warehouse.backend == "duckdb"
            else RawSource()
        ),
        "dbt": MetricsDbtCli(project_dir=DBT_PROJECT, profiles_dir=str(DBT_PROJECT.profiles_dir),
                             target=DBT_PROJECT.target, dbt_executable=dbt_executable()),
    }


def validate_config(pipelines: PipelineConfig, team: TeamConfig) -> None:
    """Judge the config that routing depends on when the code location loads: an owner who is
    no one in the team, or a broken ownership rule, stops the load naming the rule and pipeline
    (before, only `metrics oncall` checked it, and the sensors ran with it); a pipeline's
    `dbt_models` that are not in the dbt project, or raw sources that are not what they read,
    stop it too."""
    validate_dbt_models(pipelines)
    validate_ownership(pipelines, team)


def build_definitions(
    resources: dict[str, object] | None = None,
    *,
    pipelines: PipelineConfig | None = None,
    team: TeamConfig | None = None,
    alerting: AlertingSettings | None = None,
) -> dg.Definitions:
    """The code location, from the pipeline, team and alerting config (read from config/ unless given).

    A broken team.yaml or alerting.yaml stops the load here with the key named: the sensors never
    start with a config they would fail on at every tick (nobody paged).

    The config is read once here and handed to every builder: assets, checks, schedule and the
    policy stamp all see the same objects (a test passes an edited copy)."""
    pipelines = pipelines or pipeline_config()
    team = team or team_config()
    alerting = alerting or alerting_settings()
    validate_config(pipelines, team)
    cat = load_catalogue(pipelines=pipelines)
    docs = pipelines.docs_base_url or PROJECT_ROOT.as_uri() + "/"
    oncall = build_oncall_assets(team, runbook_url=docs.rstrip("/") + "/" + ONCALL_RUNBOOK)
    defs = dg.Definitions(
        assets=[*RAW_ASSETS, build_dbt_assets(pipelines), *build_publish_assets(pipelines, cat),
                oncall.asset, build_dashboards_asset(pipelines, team)],
        asset_checks=[*build_asset_checks(cat), oncall.check],
        jobs=[ALL_PIPELINES_JOB, DASHBOARDS_JOB, oncall.job],
        schedules=[build_daily_schedule(pipelines), oncall.schedule],
        sensors=[
            *build_alert_sensors(AlertRuntime(
                pipelines=lambda: pipelines, roles=lambda: roles_of(team), settings=lambda: alerting
            )),
            rebuild_dashboards_after_runs,
        ],
        resources=resources or build_resources(),
        # The embedded DuckDB file takes one writer at a time, so steps run in one process.
        executor=dg.in_process_executor,
    )
    # owners, SLA freshness, runbook and tags of each pipeline, stamped once on every asset of it
    return defs.map_resolved_asset_specs(func=pipeline_stamp(pipelines))


@dg.definitions
def defs() -> dg.Definitions:
    """The code location's entry point (workspace.yaml, `dg`, `dagster -m`): built when Dagster
    loads it, not when the module is imported. Code that needs the object calls
    `build_definitions()`."""
    return build_definitions()
