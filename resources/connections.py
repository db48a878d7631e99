"""Warehouse connections that need no Dagster: for commands that must start fast (`metrics status`).

The Dagster resource (resources/warehouse.py) opens its connections through here too, so both
take the same lock and settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from metrics_core.duckdb_sizing import duckdb_sizing
from metrics_core.paths import duckdb_path
from resources.warehouse_lock import WarehouseBusy, hold

BACKENDS = ("duckdb", "snowflake")


def duckdb_config() -> dict[str, str | int]:
    """Settings of every platform DuckDB connection: a memory cap, beyond which DuckDB spills to
    disk (a 90-day window took ~19 GB uncapped), and its threads, both from the machine
    (metrics_core/duckdb_sizing.py: 60% of its memory, its CPUs; METRICS_DUCKDB_MEMORY_LIMIT and
    METRICS_DUCKDB_THREADS override). dbt/profiles.yml reads the same variables, which
    Warehouse.hold exports for the dbt subprocess."""
    return duckdb_sizing().config()


def backend_from_env() -> str:
    backend = os.environ.get("METRICS_WAREHOUSE", "duckdb").lower()
    if backend not in BACKENDS:
        raise ValueError(f"METRICS_WAREHOUSE={backend!r} is not one of {BACKENDS}")
    return backend


def connect_duckdb(path: str, **kwargs: Any) -> Any:
    """duckdb.connect with the platform's settings; a lock held by a process outside the platform
    (a DuckDB shell, a notebook) becomes WarehouseBusy with DuckDB's own words, not a data error.
    Call it only while holding the warehouse lock."""
    # deferred: only the configured backend's driver is imported
    import duckdb

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        return duckdb.connect(path, config=duckdb_config(), **kwargs)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(f"warehouse {path} is held outside the platform: {exc}") from exc
        raise


@contextmanager
def connect(
    what: str = "metrics", *, backend: str | None = None, path: str | None = None, run_id: str = ""
) -> Iterator[Any]:
    """A connection to the warehouse (default: the configured one), closed on exit; DuckDB under
    the warehouse lock, held in the name of `what` and `run_id`."""
    backend = backend or backend_from_env()
    if backend == "duckdb":
        path = path or str(duckdb_path())
        with hold(path, what=what, run_id=run_id):
            con = connect_duckdb(path)
            try:
                yield con
            finally:
                con.close()
        return
    if backend != "snowflake":
        raise ValueError(f"unknown warehouse backend {backend!r}; expected one of {BACKENDS}")
    # deferred: Snowflake goes through the Dagster resource's env-only configuration
    from resources.warehouse import snowflake_resource_from_env

    with snowflake_resource_from_env().get_connection() as con:
        yield con
