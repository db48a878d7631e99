"""ops.asset_runs: run id, start/end time, rows out and a checksum per asset and window.

The operating standard asks that every run be auditable from the warehouse itself, so each
materialization appends one row here in addition to Dagster's own event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from resources.warehouse import Warehouse

DDL = """
create schema if not exists ops;
create table if not exists ops.asset_runs (
    run_id varchar, asset_key varchar, window_start date, window_end date,
    started_at timestamp, ended_at timestamp, rows_out bigint, checksum varchar
)
"""


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    checksum: str


def fingerprint(con, table: str, date_expr: str | None, start: date, end: date, backend: str = "duckdb"):
    """Row count and an order-independent checksum of `table` for days in [start, end)."""
    where = f"where cast({date_expr} as date) >= ? and cast({date_expr} as date) < ?" if date_expr else ""
    params = [start, end] if date_expr else []
    agg = "hash_agg(*)" if backend == "snowflake" else "sum(hash(t))"
    row = con.execute(f"select count(*), {agg} from {table} t {where}", params).fetchone()
    return TableFingerprint(rows=int(row[0]), checksum=str(row[1] or 0))


def record(
    warehouse: Warehouse, run_id: str, asset_key: str, start: date, end: date,
    started_at: datetime, fp: TableFingerprint,
) -> None:
    with warehouse.connect() as con:
        for stmt in DDL.split(";"):
            if stmt.strip():
                con.execute(stmt)
        con.execute(
            "insert into ops.asset_runs values (?, ?, ?, ?, ?, current_timestamp, ?, ?)",
            [run_id, asset_key, start, end, started_at, fp.rows, fp.checksum],
        )
