"""The published on-call schedule as a warehouse table (ops.oncall_schedule), visible in the Dagster UI.

One row per segment of constant (acting Primary, acting Backup): a normal week is one row, a week with
a critical holiday is split around the day override, so "who was on call at T" is a range query in SQL.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import dagster as dg

from metrics_assets.oncall.horizon import PLATFORM_PIPELINE, RUNBOOK, extend_ahead, horizon_status
from metrics_assets.oncall.schedule import Schedule, schedule_dir
from metrics_core.paths import duckdb_path
from metrics_core.team import TeamConfig
from resources.connections import connect_duckdb
from resources.warehouse import POOL
from resources.warehouse_lock import hold

TABLE = "ops.oncall_schedule"
SCHEDULE_KEY = dg.AssetKey(["ops", "oncall_schedule"])
COLUMNS = (
    "rotation", "block_id", "segment_start", "segment_end", "primary_email", "backup_email",
    "block_primary_email", "block_backup_email", "override_reason",
)  # fmt: skip


class OncallDefs(NamedTuple):
    asset: dg.AssetsDefinition
    check: dg.AssetChecksDefinition
    job: Any  # what define_asset_job returns (resolved when Definitions load)
    schedule: dg.ScheduleDefinition


def schedule_rows(schedules: list[Schedule]) -> list[tuple[Any, ...]]:
    rows = []
    for sc in schedules:
        by_block: dict[str, list] = {}
        for o in sc.overrides:
            by_block.setdefault(o.block, []).append(o)
        for s in sc.slots:
            cuts: list[tuple[datetime, datetime, str, str, str | None]] = []
            t = s.start
            for o in sorted(by_block.get(s.id, []), key=lambda o: o.start):
                if t < o.start:
                    cuts.append((t, o.start, s.primary, s.backup, None))
                cuts.append((o.start, o.end, o.primary, o.backup, o.reason))
                t = o.end
            if t < s.end:
                cuts.append((t, s.end, s.primary, s.backup, None))
            rows += [(sc.rotation, s.id, a, b, p, bk, s.primary, s.backup, why) for a, b, p, bk, why in cuts]
    return rows


def write_schedule_rows(con: Any, rows: list[tuple[Any, ...]]) -> int:
    """Replace ops.oncall_schedule with `rows` on a DuckDB connection (the one warehouse-specific step)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(
        f"CREATE OR REPLACE TABLE {TABLE} (rotation VARCHAR, block_id VARCHAR, segment_start TIMESTAMPTZ, "
        "segment_end TIMESTAMPTZ, primary_email VARCHAR, backup_email VARCHAR, block_primary_email VARCHAR, "
        "block_backup_email VARCHAR, override_reason VARCHAR)"
    )
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    return len(rows)


def load_published() -> list[Schedule]:
    return [Schedule.load(p) for p in sorted(schedule_dir().glob("schedule-*.json"))]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_oncall_assets(
    team: TeamConfig, runbook_url: str = RUNBOOK, clock: Callable[[], datetime] = _utc_now
) -> OncallDefs:
    """ops/oncall_schedule (extended ahead before it is written), its horizon check, and the daily
    schedule that keeps it `rotation.keep_ahead_weeks` ahead. `clock` is injectable for tests."""

    @dg.asset(
        pool=POOL,
        key=SCHEDULE_KEY,
        group_name="ops",
        description="Who is Primary and Backup on call when, from config/oncall/schedule-*.json (after PTO "
        "re-plans and holiday day overrides), first extended ahead by whole ISO years when fewer than "
        f"{team.rotation.keep_ahead_weeks} weeks are left. One row per segment; query with "
        "segment_start <= T < segment_end.",
        kinds={"duckdb"},
    )
    def oncall_schedule(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        extended = extend_ahead(team, clock())
        for path in extended:
            context.log.info("published %s to keep the rotation ahead", path)
        schedules = load_published()
        rows = schedule_rows(schedules)
        path = duckdb_path()
        with hold(path, what="ops/oncall_schedule", run_id=context.run_id):
            con = connect_duckdb(str(path))
            try:
                n = write_schedule_rows(con, rows)
            finally:
                con.close()
        context.log.info("wrote %d on-call segments to %s", n, TABLE)
        return dg.MaterializeResult(
            metadata={
                "rows": n,
                "schedules": [s.meta.get("horizon", "") for s in schedules],
                "extended": [p.name for p in extended],
                "ends": schedules[-1].end.isoformat() if schedules else "",
                "overrides": sum(len(s.overrides) for s in schedules),
                "replans": sum(e.get("kind") == "replan" for s in schedules for e in s.log),
            }
        )

    @dg.asset_check(
        asset=SCHEDULE_KEY,
        name="oncall_schedule_horizon",
        description=f"WARN when the published rotation ends fewer than {team.rotation.warn_ahead_weeks} "
        "weeks ahead (runbooks/oncall.md#a-schedule-that-never-runs-out).",
        metadata={"pipeline": PLATFORM_PIPELINE, "runbook": runbook_url},
    )
    def oncall_schedule_horizon() -> dg.AssetCheckResult:
        h = horizon_status(team, clock())
        return dg.AssetCheckResult(
            passed=not h.short,
            severity=dg.AssetCheckSeverity.WARN,
            description=h.describe(),
            metadata={"weeks_left": round(h.weeks_left, 1), "ends": h.end.isoformat() if h.end else "",
                      "warn_below_weeks": h.warn_weeks},
        )

    job = dg.define_asset_job(
        "oncall_keep_ahead", selection=dg.AssetSelection.assets(SCHEDULE_KEY),
        description="Extend the on-call rotation ahead and refresh ops.oncall_schedule.",
    )
    schedule = dg.ScheduleDefinition(
        name="oncall_keep_ahead_daily", job=job, cron_schedule=team.rotation.keep_ahead_cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return OncallDefs(oncall_schedule, oncall_schedule_horizon, job, schedule)
