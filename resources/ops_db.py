"""The connection under the alerting store (resources/incident_store.py): SQLite or PostgreSQL.

METRICS_OPS_STORE is a file path (SQLite in WAL mode, the default `data/ops.sqlite`) or a
`postgresql://user:password@host:5432/db` URL: a deployment with several hosts or pods (the daemon's
sensors, run workers, the `metrics incidents` CLI) shares one store on the Postgres server that holds
Dagster's instance (docs/deploy.md). The store is written in SQLite's SQL; on Postgres the
connection translates what differs, so the store's code is the same for both:

    ? placeholders                      -> %s (psycopg2), a literal % doubled
    INSERT OR IGNORE INTO ...           -> INSERT INTO ... ON CONFLICT DO NOTHING
    INTEGER PRIMARY KEY AUTOINCREMENT   -> BIGSERIAL PRIMARY KEY (executescript, the DDL)
    PRAGMA table_info(t)                -> information_schema.columns (the migration check)
    other PRAGMAs (journal_mode, ...)   -> nothing
    BEGIN IMMEDIATE                     -> BEGIN + a transaction-scoped advisory lock, so, as on
                                           SQLite, one writer transaction at a time
"""

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metrics_core.paths import ops_store_path

# pg_advisory_(xact_)lock key of the store: its write transactions and its DDL take it
ADVISORY_LOCK_KEY = 0x6D6F7073  # "mops"
_URL = re.compile(r"^postgres(ql)?(\+psycopg2)?://", re.IGNORECASE)
_URL_THROUGH_PATH = re.compile(r"^postgres(ql)?(\+psycopg2)?:/[^/]", re.IGNORECASE)
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_AUTOINCREMENT = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.IGNORECASE)
_TABLE_INFO = re.compile(r"^\s*PRAGMA\s+table_info\s*\(\s*['\"]?(\w+)['\"]?\s*\)\s*;?\s*$", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\b", re.IGNORECASE)
_BEGIN_IMMEDIATE = re.compile(r"^\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)\s*;?\s*$", re.IGNORECASE)


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and bool(_URL.match(target))


def store_target(path: Path | str | None = None) -> Path | str:
    """A SQLite file (Path) or a Postgres URL (str). `None` reads METRICS_OPS_STORE. A URL that went
    through `Path()` (metrics_core.paths.ops_store_path, which lost one `/` of `//`) is taken back
    from the variable it came from."""
    env = os.environ.get("METRICS_OPS_STORE", "")
    if path is None:
        return env if is_postgres_url(env) else ops_store_path()
    text = str(path)
    if is_postgres_url(text):
        return text
    if _URL_THROUGH_PATH.match(text):
        if is_postgres_url(env) and Path(env) == Path(text):
            return env
        raise ValueError(f"{text!r} looks like a Postgres URL that lost its '//': pass the URL as a string")
    return Path(text)


def to_pyformat(sql: str) -> str:
    """`?` placeholders (outside string literals) to psycopg2's `%s`; a literal `%` to `%%`."""
    out, in_string = [], False
    for ch in sql:
        if ch == "'":
            in_string = not in_string
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif ch == "?" and not in_string:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def translate(sql: str) -> str:
    """One SQLite statement of the store as Postgres SQL (placeholders untouched)."""
    if _INSERT_OR_IGNORE.match(sql):
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql, count=1).rstrip().rstrip(";")
        sql += " ON CONFLICT DO NOTHING"
    return sql


class PgConnection:
    """A psycopg2 connection (autocommit, like the store's SQLite connection) that takes the store's
    SQLite SQL: `execute(sql, params)` returns the cursor (fetchone, fetchall, rowcount, iteration)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.raw.autocommit = True  # statements commit unless inside BEGIN ... COMMIT

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cur = self.raw.cursor()
        table_info = _TABLE_INFO.match(sql)
        if table_info:  # (cid, name, type) as PRAGMA table_info gives them
            cur.execute(
                "SELECT ordinal_position - 1, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                [table_info.group(1).lower()],
            )
        elif _BEGIN_IMMEDIATE.match(sql):
            cur.execute("BEGIN")
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        elif _PRAGMA.match(sql):  # journal_mode, busy_timeout: SQLite's own settings
            cur.execute("SELECT 1 WHERE false")
        elif params:
            cur.execute(to_pyformat(translate(sql)), list(params))
        else:
            cur.execute(translate(sql))
        return cur

    def executescript(self, script: str) -> None:
        """The store's DDL, under the store's advisory lock: two processes opening a new store at
        once would otherwise race on CREATE TABLE IF NOT EXISTS."""
        cur = self.raw.cursor()
        cur.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        try:
            cur.execute(_AUTOINCREMENT.sub("BIGSERIAL PRIMARY KEY", script))
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def close(self) -> None:
        self.raw.close()


def connect_postgres(url: str, lock_timeout_ms: int = 30_000) -> PgConnection:
    """Waits at most `lock_timeout_ms` for another writer's lock, as SQLite's busy_timeout does."""
    # deferred: only a Postgres-backed store needs the driver
    import psycopg2

    url = _URL.sub("postgresql://", url, count=1)
    return PgConnection(psycopg2.connect(url, options=f"-c lock_timeout={int(lock_timeout_ms)}"))


@contextmanager
def connect(path: Path | str | None = None, *, busy_timeout_ms: int = 30_000) -> Iterator[Any]:
    """The store's connection, closed on exit: Postgres for a URL, else SQLite at the path (created
    with its folder; WAL, waiting `busy_timeout_ms` for another process's write, autocommit)."""
    target = store_target(path)
    if isinstance(target, str):
        conn: Any = connect_postgres(target, busy_timeout_ms)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        # autocommit (isolation_level=None): every statement commits unless inside BEGIN ... COMMIT
        conn = sqlite3.connect(str(target), timeout=busy_timeout_ms / 1000, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    try:
        yield conn
    finally:
        conn.close()
