"""The dashboards in the asset graph: `ops/dashboards` rebuilds the pages from the ops tables, and
a sensor asks for it after runs finish, so the pages follow every run with `dagster dev` up.

The asset's materialization links every page (asset metadata URLs), which is how the Dagster UI
links to them. The sensor reads run records only (a sensor never opens the warehouse); the run it
requests waits in the warehouse pool like any other.
"""

from datetime import UTC, datetime

import dagster as dg

from metrics_assets.dashboards.build import build
from metrics_assets.dashboards.html import PAGES
from metrics_core.config import PipelineConfig
from metrics_core.run_clock import run_now
from metrics_core.team import TeamConfig
from resources.warehouse import POOL, Warehouse

KEY = dg.AssetKey(["ops", "dashboards"])
JOB = "ops_dashboards"
SENSOR_INTERVAL_S = 60  # at most one rebuild a minute, however many runs finished
_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def build_dashboards_asset(pipelines: PipelineConfig, team: TeamConfig) -> dg.AssetsDefinition:
    @dg.asset(
        key=KEY,
        pool=POOL,
        group_name="ops",
        kinds={"html", "plotly"},
        description="The owners' ops dashboards (Ops Overview, Freshness & Lag, Error Budget Burn, "
        "Schema Contracts, a page per owner), static HTML built from ops.slo_daily, ops.slo_attainment, "
        "ops.check_history, the alerting store and the on-call schedule. Rebuilt after runs finish "
        "(sensor rebuild_dashboards_after_runs) or by `metrics dashboards build`.",
    )
    def ops_dashboards(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            report = build(con.cursor(), pipelines, team, run_now(context))
        links = {title: dg.MetadataValue.url(report.url(file)) for file, title in PAGES}
        return dg.MaterializeResult(
            metadata={
                **links,
                "pages": len(report.pages),
                "build_seconds": round(report.seconds, 3),
                "directory": dg.MetadataValue.path(str(report.out)),
            }
        )

    return ops_dashboards


DASHBOARDS_JOB = dg.define_asset_job(
    JOB,
    selection=dg.AssetSelection.assets(KEY),
    description="Rebuild the ops dashboards from the ops tables.",
)


@dg.sensor(
    name="rebuild_dashboards_after_runs",
    job=DASHBOARDS_JOB,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After any run other than its own finishes, one rebuild of the ops dashboards "
    "(runs that finished between two ticks share one rebuild).",
)
def rebuild_dashboards_after_runs(context: dg.SensorEvaluationContext):
    after = float(context.cursor) if context.cursor else None
    since = None if after is None else datetime.fromtimestamp(after, tz=UTC)
    filters = dg.RunsFilter(statuses=_FINISHED, updated_after=since)
    records = context.instance.get_run_records(
        filters=filters, order_by="update_timestamp", ascending=True, limit=500
    )
    if not records:
        return dg.SkipReason("no run finished since the last rebuild")
    context.update_cursor(str(max(r.update_timestamp.timestamp() for r in records)))
    others = [r.dagster_run for r in records if r.dagster_run.job_name != JOB]
    if not others:
        return dg.SkipReason("only dashboard rebuilds finished")
    return dg.RunRequest(
        run_key=f"after-{others[-1].run_id}", tags={"metrics/dashboards_after": others[-1].run_id}
    )
