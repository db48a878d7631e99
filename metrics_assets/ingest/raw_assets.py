"""One daily-partitioned asset per raw source (shared/spec/pipelines.md, "Sources").

Locally the asset generates its window with the seeded generator; in production it verifies the
landed table. Either way it records rows and a checksum per window in ops.asset_runs, and the
source-contract checks in checks/ run against it. It follows the run clock (run tag
`metrics/now`): a day that is not over yet is refused, naming it, and the synthetic layer lands
only what had landed by then. A failed raw step logs the refusal of the investor days it stops.
"""

from datetime import UTC, datetime

import dagster as dg

from metrics_assets.orchestration import run_log
from metrics_assets.orchestration.partitions import DAILY, SINGLE_RUN, days_in, window_of
from metrics_assets.publication.hook import log_stopped_publication
from metrics_core.run_clock import incomplete_days, refusal_message, run_now
from metrics_core.sources import SOURCES, Source
from resources.raw_source import RawSource
from resources.warehouse import POOL, Warehouse

RAW_GROUP = "raw"


def raw_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", name])


def _build(source: Source) -> dg.AssetsDefinition:
    columns = dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type,
                description=c.description or None,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in source.columns
        ]
    )

    @dg.asset(
        pool=POOL,
        key=raw_key(source.name),
        group_name=RAW_GROUP,
        partitions_def=DAILY,
        backfill_policy=SINGLE_RUN,
        kinds={"duckdb", "python"},
        tags={"layer": "raw"},
        description=(
            f"Raw `{source.name}`: {source.grain}. "
            f"Partitioned by the UTC day of `{source.partition_column}`."
        ),
        metadata={
            "dagster/column_schema": columns,
            "dagster/table_name": source.table,
            "partition_expr": source.partition_column,
            "primary_key": ", ".join(source.primary_key) or "(none before dedup)",
        },
    )
    def _raw(
        context: dg.AssetExecutionContext, warehouse: Warehouse, raw_source: RawSource
    ) -> dg.MaterializeResult:
        start, end = window_of(context)
        now = run_now(context)
        if incomplete_days(days_in(start, end), now):
            raise dg.Failure(description=refusal_message(f"raw/{source.name}", days_in(start, end), now))
        started = datetime.now(UTC).replace(tzinfo=None)
        with warehouse.session(f"raw/{source.name}"):  # one connection for the step
            raw_source.land(warehouse, source, start, end, now=now)
            with warehouse.connect() as con:
                fp = run_log.fingerprint(
                    con, source.table, source.partition_column, start, end, warehouse.backend
                )
            run_log.record(
                warehouse, context.run_id, raw_key(source.name).to_user_string(), start, end, started, fp
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": fp.rows,
                "checksum": fp.checksum,
                "window": f"{start} .. {end} (exclusive)",
            }
        )

    return _raw.with_hooks({log_stopped_publication})


RAW_ASSETS: list[dg.AssetsDefinition] = [_build(s) for s in SOURCES.values()]
