"""The warehouse the platform reads and writes: an embedded DuckDB file by default, Snowflake in production.

One environment variable, METRICS_WAREHOUSE (`duckdb` | `snowflake`), picks the backend. Snowflake
credentials come only from SNOWFLAKE_* environment variables and are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from metrics_core.duckdb_sizing import dbt_env
from metrics_core.paths import duckdb_path
from resources.connections import backend_from_env, connect
from resources.warehouse_lock import hold

if TYPE_CHECKING:
    import pandas as pd  # imported by query_df: not at the definitions load

# Dagster concurrency pool of every asset and check that opens the warehouse. dagster.yaml sets
# pools to run granularity with a default limit of 1: runs that write the warehouse queue one
# behind the other (Snowflake deployments may raise it: `dagster instance concurrency set warehouse N`).
POOL = "warehouse"


class Warehouse(dg.ConfigurableResource):
    """SQL access for checks, publication and ops tables; pandas only ever sees small results."""

    backend: str = "duckdb"
    duckdb_path: str = ""
    _snowflake: Any = PrivateAttr(default=None)
    _run_id: str = PrivateAttr(default="")
    _session: Any = PrivateAttr(default=None)  # the step's open DuckDB connection (session())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # the run id names this process as the holder of the warehouse file
        self._run_id = context.run_id or ""

    @classmethod
    def from_env(cls) -> Warehouse:
        backend = backend_from_env()
        return cls(backend=backend, duckdb_path=str(duckdb_path()) if backend == "duckdb" else "")

    @property
    def path(self) -> str:
        return self.duckdb_path or str(duckdb_path())

    @property
    def identity(self) -> str:
        """Which warehouse this is (caches kept per warehouse: dbt's parse)."""
        if self.backend == "duckdb":
            return f"duckdb:{Path(self.path).resolve()}"
        env = os.environ
        return f"{self.backend}:{env.get('SNOWFLAKE_ACCOUNT', '')}/{env.get('SNOWFLAKE_DATABASE', '')}"

    @contextmanager
    def hold(self, what: str = "") -> Iterator[None]:
        """Hold the embedded file for a whole step (e.g. around a dbt subprocess); no-op on Snowflake.

        The subprocess that opens the file meanwhile gets this machine's DuckDB sizing through the
        environment (METRICS_DUCKDB_MEMORY_LIMIT / _THREADS, read by dbt/profiles.yml): while this
        step holds the file it is the only heavy DuckDB connection, so it takes the same share."""
        if self.backend != "duckdb":
            yield
            return
        os.environ.update(dbt_env())  # an explicit override is kept as given; a malformed one raises
        with hold(self.path, what=what or "metrics", run_id=self._run_id):
            yield

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection (duckdb or snowflake.connector) that is closed on exit.

        On DuckDB the connection is taken under the warehouse lock (resources/warehouse_lock.py):
        a busy file makes this wait, then raise WarehouseBusy naming the holder."""
        if self._session is not None:  # inside session(): the step's connection, closed by it
            try:
                yield self._session
            except BaseException:
                _rollback_if_open(self._session)  # what follows in the step starts clean
                raise
            return
        path = self.path if self.backend == "duckdb" else None
        with connect("metrics", backend=self.backend, path=path, run_id=self._run_id) as con:
            yield con

    @contextmanager
    def session(self, what: str = "") -> Iterator[None]:
        """One DuckDB connection for a whole step: every connect() inside the block reuses it.

        Opening the file costs ~16 ms and closing it a checkpoint; a daily run's check and publish
        steps opened it ~180 times (~4 s of a 19 s run at SF 0.02). The warehouse lock is held for
        the block, as the dbt step holds it for its subprocess. Nested sessions are one session. On
        Snowflake this is a no-op: connections stay per call."""
        if self.backend != "duckdb" or self._session is not None:
            yield
            return
        with connect(what or "metrics", backend="duckdb", path=self.path, run_id=self._run_id) as con:
            self._session = con  # the lock is taken once, naming the step as its holder
            try:
                yield
            finally:
                self._session = None

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with self.connect() as con:
            cur = con.cursor()
            cur.execute(sql, params or [])
            cols = [d[0].lower() for d in cur.description]
            # deferred: pandas costs ~0.4 s at import; the definitions load must not pay it
            import pandas as pd

            return pd.DataFrame(cur.fetchall(), columns=cols)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.connect() as con:
            con.cursor().execute(sql, params or [])


def _rollback_if_open(con: Any) -> None:
    """Roll back a transaction the failed block left open; none open is fine."""
    # deferred: only the configured backend's driver is imported
    import duckdb

    with suppress(duckdb.Error):  # none was active
        con.rollback()


def snowflake_resource_from_env() -> Any:
    """dagster-snowflake's resource, configured only from environment variables."""
    # deferred: only the configured backend's driver is imported
    from dagster_snowflake import SnowflakeResource

    required = ["SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_DATABASE", "SNOWFLAKE_WAREHOUSE"]
    missing = [k for k in required if not os.environ.get(k)]
    if missing:
        raise ValueError(f"METRICS_WAREHOUSE=snowflake but environment variable(s) {missing} are not set")
    auth: dict[str, Any] = {}
    if os.environ.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
        auth["private_key_path"] = dg.EnvVar("SNOWFLAKE_PRIVATE_KEY_PATH")
    else:
        auth["password"] = dg.EnvVar("SNOWFLAKE_PASSWORD")
    return SnowflakeResource(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        user=dg.EnvVar("SNOWFLAKE_USER"),
        database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        role=os.environ.get("SNOWFLAKE_ROLE"),
        schema="RAW",
        **auth,
    )
