"""ops.check_history: every check evaluation, one row per check, asset and partition day.

Dagster keeps check results per asset, not per day, and dbt keeps none; this table is what the
publication gates read ("did every ERROR check pass for this day?") and what false-alert and
trend studies query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from checks.core import CheckOutcome
from checks.settings import check_settings
from resources.warehouse import Warehouse

if TYPE_CHECKING:
    import pandas as pd

TABLE = "ops.check_history"
COLUMNS = (
    "check_name",
    "asset",
    "failure_mode",
    "pipeline",
    "severity",
    "partition_day",
    "status",
    "passed",
    "value",
    "baseline",
    "threshold",
    "message",
    "details",
    "run_id",
    "evaluated_at",
    "checks_version",
)
DDL = f"""
create table if not exists {TABLE} (
    check_name varchar, asset varchar, failure_mode varchar, pipeline varchar, severity varchar,
    partition_day date, status varchar, passed boolean,
    value double, baseline double, threshold double,
    message varchar, details varchar, run_id varchar, evaluated_at timestamp, checks_version varchar
)
"""


def ensure_table(con) -> None:
    con.cursor().execute("create schema if not exists ops")
    con.cursor().execute(DDL)


def _rows(outcomes: Iterable[CheckOutcome], version: str) -> list[tuple]:
    return [
        (
            o.check,
            o.asset,
            o.failure_mode,
            o.pipeline,
            o.severity,
            o.day,
            o.status,
            not o.failed,
            o.value,
            o.baseline,
            o.threshold,
            o.message[:2000],
            json.dumps(o.details, default=str, sort_keys=True)[:8000],
            o.run_id,
            o.evaluated_at,
            version,
        )
        for o in outcomes
    ]


def append(warehouse: Warehouse, outcomes: Sequence[CheckOutcome]) -> int:
    """Append evaluations; returns the number of rows written."""
    rows = _rows(outcomes, check_settings().version)
    if not rows:
        return 0
    with warehouse.connect() as con:
        ensure_table(con)
        if warehouse.backend == "duckdb":
            # deferred: pandas costs ~0.4 s at import; the definitions load must not pay it
            import pandas as pd

            frame = pd.DataFrame(rows, columns=list(COLUMNS))
            con.register("_check_history_rows", frame)
            con.execute(f"insert into {TABLE} select {', '.join(COLUMNS)} from _check_history_rows")
            con.unregister("_check_history_rows")
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            con.cursor().executemany(f"insert into {TABLE} ({', '.join(COLUMNS)}) values ({marks})", rows)
    return len(rows)


def latest(warehouse: Warehouse, checks: Sequence[tuple[str, str]], start: date, end: date) -> pd.DataFrame:
    """The latest evaluation of each (asset, check) for each day in [start, end)."""
    cols = ["asset", "check_name", "partition_day", "status", "passed", "severity", "message", "run_id"]
    if not checks:
        # deferred: pandas costs ~0.4 s at import; the definitions load must not pay it
        import pandas as pd

        return pd.DataFrame(columns=cols)
    with warehouse.connect() as con:
        ensure_table(con)
    pairs = " or ".join(["(asset = ? and check_name = ?)"] * len(checks))
    params: list = [start, end] + [x for pair in checks for x in pair]
    return warehouse.query_df(
        f"""
        select {", ".join(cols)}
        from {TABLE}
        where partition_day >= ? and partition_day < ? and ({pairs})
        qualify row_number() over (
            partition by asset, check_name, partition_day order by evaluated_at desc) = 1
        """,
        params,
    )
