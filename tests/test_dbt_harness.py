"""Shared helpers for the dbt tests: run the real dbt project against a temporary DuckDB file and
fingerprint its marts. Also tests that the project parses without a database or vars.

dbt runs in-process (dbtRunner), with its own target/log paths per test, so parallel test
workers never share dbt/target or a DuckDB file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from metrics_core.dbt_vars import dbt_vars_json
from metrics_core.paths import DBT_PROJECT_DIR
from metrics_core.sources import RAW_SCHEMA, SOURCES

MART_SCHEMA = "marts"


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _close_dbt_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open in the process; close it so the file can be read."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager

    with manager._LOCK:
        if manager._ENV is not None:
            try:
                manager._ENV.close()
            finally:
                manager._ENV = None


def _common_args(work_dir: Path) -> list[str]:
    return [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--quiet",
    ]  # fmt: skip


def run_dbt(
    args: list[str], db_path: Path, work_dir: Path, manifest: Any = None, allow_failures: bool = False
) -> dict[str, str]:
    """Run one dbt command in-process on db_path and return {node name: status} of the nodes that
    did not pass; unless allow_failures, raise when any did. A manifest from parse_manifest()
    skips parsing (vars are still applied when SQL is compiled)."""
    from dbt.cli.main import dbtRunner

    work_dir.mkdir(parents=True, exist_ok=True)
    env = {"METRICS_DUCKDB_PATH": str(db_path), "METRICS_WAREHOUSE": "duckdb",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}  # fmt: skip
    with _env(**env):
        try:
            res = dbtRunner(manifest=manifest).invoke([*args, *_common_args(work_dir)])
        finally:
            _close_dbt_duckdb()
    failed = {}
    if res.result is not None and hasattr(res.result, "results"):
        failed = {r.node.name: f"{r.status} {r.message}" for r in res.result.results
                  if str(r.status) not in ("success", "pass")}  # fmt: skip
    if not res.success and not allow_failures:
        raise AssertionError(f"dbt {' '.join(args[:1])} failed: {res.exception or failed}")
    if res.exception is not None:
        raise AssertionError(f"dbt {' '.join(args[:1])} did not run: {res.exception}")
    return failed


def parse_manifest(db_path: Path, work_dir: Path) -> Any:
    """Parse the project once for repeated run_dbt(manifest=...) on db_path (its file name is the
    catalog the manifest's relations are qualified with); needs no vars."""
    from dbt.cli.main import dbtRunner

    work_dir.mkdir(parents=True, exist_ok=True)
    with _env(METRICS_DUCKDB_PATH=str(db_path), METRICS_WAREHOUSE="duckdb"):
        res = dbtRunner().invoke(["parse", *_common_args(work_dir)])
    assert res.success, res.exception
    return res.result


def build_window(
    db_path: Path,
    work_dir: Path,
    start: date,
    end: date,
    command: str = "build",
    manifest: Any = None,
    extra: tuple[str, ...] = (),
) -> None:
    """`dbt <command>` for the partitions [start, end), with the vars Dagster passes."""
    run_dbt([command, "--vars", dbt_vars_json(start, end), *extra], db_path, work_dir, manifest)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty raw tables exactly as the source contract (metrics_core/sources.py) describes them."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for s in SOURCES.values():
        cols = ", ".join(f"{c.name} {c.type}" for c in s.columns)
        con.execute(f"create table if not exists {s.table} ({cols})")


def _mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE'",
        [MART_SCHEMA],
    ).fetchall()
    return sorted(r[0] for r in rows)


def mart_frames(db_path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {t: con.execute(f"select * from {MART_SCHEMA}.{t}").df() for t in _mart_tables(con)}


def mart_checksums(db_path: Path) -> dict[str, str]:
    """Per mart: row count and an order-independent sum of row hashes (doubles rounded to 1e-6,
    since sums of doubles may differ in the last bit between runs)."""
    out: dict[str, str] = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for t in _mart_tables(con):
            cols = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [MART_SCHEMA, t],
            ).fetchall()
            exprs = [f"round({c}, 6)" if ty in ("DOUBLE", "FLOAT") else c for c, ty in cols]
            n, h = con.execute(
                f"select count(*), sum(hash({', '.join(exprs)})) from {MART_SCHEMA}.{t}"
            ).fetchone()
            out[t] = f"{n}:{h}"
    return out


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def test_dbt_parse_needs_no_database_or_vars(tmp_path: Path) -> None:
    """`dbt parse` works on a fresh checkout: no warehouse file, no --vars."""
    db = tmp_path / "never_created.duckdb"
    run_dbt(["parse"], db, tmp_path / "dbt")
    assert (tmp_path / "dbt" / "target" / "manifest.json").exists()
    assert not db.exists()


def test_dbt_build_without_vars_names_the_missing_var(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        create_raw_tables(con)
    with pytest.raises(AssertionError, match="dbt var 'min_date' is required"):
        run_dbt(["run", "--select", "fct_order_profit"], db, tmp_path / "dbt")
