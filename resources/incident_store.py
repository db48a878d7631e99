"""Incident store: ops.incidents, ops.incident_events and ops.outbox in the DuckDB warehouse.

All alerting SQL lives here so a Snowflake connection could replace it. Times are stored as
naive UTC TIMESTAMPs (portable to TIMESTAMP_NTZ) and come back tz-aware.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from metrics_assets.alerting.model import FailureKind, Incident, Status
from metrics_assets.paths import duckdb_path

_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SEQUENCE IF NOT EXISTS ops.incident_event_seq;
CREATE SEQUENCE IF NOT EXISTS ops.outbox_seq;
CREATE TABLE IF NOT EXISTS ops.incidents (
    id VARCHAR PRIMARY KEY, dedup_key VARCHAR NOT NULL, pipeline VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, partition_key VARCHAR, severity VARCHAR NOT NULL, status VARCHAR NOT NULL,
    opened_at TIMESTAMP NOT NULL, page_start TIMESTAMP NOT NULL,
    primary_owner VARCHAR NOT NULL, secondary_owner VARCHAR NOT NULL,
    subjects VARCHAR NOT NULL, run_ids VARCHAR NOT NULL, summary VARCHAR, occurrences INTEGER NOT NULL,
    last_seen_at TIMESTAMP, acked_at TIMESTAMP, acked_by VARCHAR,
    resolved_at TIMESTAMP, resolved_by VARCHAR, resolution VARCHAR
);
CREATE TABLE IF NOT EXISTS ops.incident_events (
    id BIGINT PRIMARY KEY DEFAULT nextval('ops.incident_event_seq'), incident_id VARCHAR NOT NULL,
    event_at TIMESTAMP NOT NULL, event VARCHAR NOT NULL, level VARCHAR, recipient VARCHAR,
    channel VARCHAR, due_at TIMESTAMP, detail VARCHAR
);
CREATE TABLE IF NOT EXISTS ops.outbox (
    id BIGINT PRIMARY KEY DEFAULT nextval('ops.outbox_seq'), created_at TIMESTAMP NOT NULL,
    incident_id VARCHAR NOT NULL, recipient VARCHAR NOT NULL, action VARCHAR NOT NULL,
    level VARCHAR, urgency VARCHAR, subject VARCHAR NOT NULL, body VARCHAR NOT NULL
);
"""
_COLS = (
    "id, dedup_key, pipeline, kind, partition_key, severity, status, opened_at, page_start, primary_owner, "
    "secondary_owner, subjects, run_ids, summary, occurrences, last_seen_at, acked_at, acked_by, "
    "resolved_at, resolved_by, resolution"
)


def _db(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r} given to the incident store; pass tz-aware times")
    return t.astimezone(UTC).replace(tzinfo=None)


def _py(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class EventRow:
    id: int
    incident_id: str
    at: datetime
    event: str
    level: str | None
    recipient: str | None
    channel: str | None
    due_at: datetime | None
    detail: str | None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: datetime
    incident_id: str
    recipient: str
    action: str
    level: str | None
    urgency: str | None
    subject: str
    body: str


class IncidentStore:
    """One DuckDB connection; use `IncidentStore.open()` as a context manager."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.conn.execute(_DDL)

    @classmethod
    @contextmanager
    def open(cls, path: Path | str | None = None, *, lock_timeout_s: float = 20.0) -> Iterator[IncidentStore]:
        """Open the warehouse, retrying while another process holds DuckDB's write lock."""
        target = str(path or duckdb_path())
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + lock_timeout_s
        while True:
            try:
                conn = duckdb.connect(target)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.25)
        try:
            yield cls(conn)
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- incidents ---------------------------------------------------------------------------
    def next_id(self) -> str:
        n = self.conn.execute("SELECT count(*) FROM ops.incidents").fetchone()[0]
        return f"INC-{n + 1:05d}"

    @staticmethod
    def _row(inc: Incident) -> list[Any]:
        return [
            inc.id, inc.dedup_key, inc.pipeline, inc.kind.value, inc.partition, inc.severity,
            inc.status.value, _db(inc.opened_at), _db(inc.page_start), inc.primary_owner,
            inc.secondary_owner, json.dumps(inc.subjects), json.dumps(inc.run_ids), inc.summary,
            inc.occurrences, _db(inc.last_seen_at), _db(inc.acked_at), inc.acked_by,
            _db(inc.resolved_at), inc.resolved_by, inc.resolution,
        ]

    @staticmethod
    def _incident(r: tuple) -> Incident:
        return Incident(
            id=r[0], dedup_key=r[1], pipeline=r[2], kind=FailureKind(r[3]), partition=r[4], severity=r[5],
            status=Status(r[6]), opened_at=_py(r[7]), page_start=_py(r[8]), primary_owner=r[9],
            secondary_owner=r[10], subjects=json.loads(r[11]), run_ids=json.loads(r[12]), summary=r[13] or "",
            occurrences=r[14], last_seen_at=_py(r[15]), acked_at=_py(r[16]), acked_by=r[17],
            resolved_at=_py(r[18]), resolved_by=r[19], resolution=r[20],
        )

    def insert(self, inc: Incident) -> None:
        marks = ", ".join("?" * len(_COLS.split(",")))
        self.conn.execute(f"INSERT INTO ops.incidents ({_COLS}) VALUES ({marks})", self._row(inc))

    def update(self, inc: Incident) -> None:
        cols = [c.strip() for c in _COLS.split(",")][1:]
        sets = ", ".join(f"{c} = ?" for c in cols)
        self.conn.execute(f"UPDATE ops.incidents SET {sets} WHERE id = ?", [*self._row(inc)[1:], inc.id])

    def get(self, incident_id: str) -> Incident | None:
        r = self.conn.execute(f"SELECT {_COLS} FROM ops.incidents WHERE id = ?", [incident_id]).fetchone()
        return self._incident(r) if r else None

    def open_by_key(self, key: str) -> Incident | None:
        r = self.conn.execute(
            f"SELECT {_COLS} FROM ops.incidents WHERE dedup_key = ? AND status <> 'resolved' "
            "ORDER BY opened_at LIMIT 1",
            [key],
        ).fetchone()
        return self._incident(r) if r else None

    def open_incidents(self) -> list[Incident]:
        rows = self.conn.execute(
            f"SELECT {_COLS} FROM ops.incidents WHERE status <> 'resolved' ORDER BY opened_at, id"
        ).fetchall()
        return [self._incident(r) for r in rows]

    def list(self, status: str | None = None, limit: int = 100) -> list[Incident]:
        """Newest first; `status` None or "all" lists every incident."""
        where, args = ("WHERE status = ?", [status]) if status and status != "all" else ("", [])
        rows = self.conn.execute(
            f"SELECT {_COLS} FROM ops.incidents {where} ORDER BY opened_at DESC, id DESC LIMIT {int(limit)}",
            args,
        ).fetchall()
        return [self._incident(r) for r in rows]

    # -- events ------------------------------------------------------------------------------
    def add_event(
        self,
        incident_id: str,
        at: datetime,
        event: str,
        *,
        level: str | None = None,
        recipient: str | None = None,
        channel: str | None = None,
        due_at: datetime | None = None,
        detail: str = "",
    ) -> None:
        self.conn.execute(
            "INSERT INTO ops.incident_events "
            "(incident_id, event_at, event, level, recipient, channel, due_at, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [incident_id, _db(at), event, level, recipient, channel, _db(due_at), detail],
        )

    def events(self, incident_id: str | None = None) -> list[EventRow]:
        where, args = ("WHERE incident_id = ?", [incident_id]) if incident_id else ("", [])
        rows = self.conn.execute(
            "SELECT id, incident_id, event_at, event, level, recipient, channel, due_at, detail "
            f"FROM ops.incident_events {where} ORDER BY id",
            args,
        ).fetchall()
        return [EventRow(r[0], r[1], _py(r[2]), r[3], r[4], r[5], r[6], _py(r[7]), r[8]) for r in rows]

    def delivered_keys(self, incident_id: str) -> set[tuple[str, str, str]]:
        """(level, recipient, action) already delivered (or attempted) for this incident."""
        rows = self.conn.execute(
            "SELECT DISTINCT level, recipient, event FROM ops.incident_events "
            "WHERE incident_id = ? AND event IN ('page', 'notify', 'role')",
            [incident_id],
        ).fetchall()
        return {(r[0], r[1], r[2]) for r in rows}

    # -- outbox ------------------------------------------------------------------------------
    def add_outbox(
        self, *, at: datetime, incident_id: str, recipient: str, action: str, level: str | None,
        urgency: str | None, subject: str, body: str,
    ) -> None:
        self.conn.execute(
            "INSERT INTO ops.outbox "
            "(created_at, incident_id, recipient, action, level, urgency, subject, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [_db(at), incident_id, recipient, action, level, urgency, subject, body],
        )

    def outbox(self, incident_id: str | None = None) -> list[OutboxRow]:
        where, args = ("WHERE incident_id = ?", [incident_id]) if incident_id else ("", [])
        rows = self.conn.execute(
            "SELECT id, created_at, incident_id, recipient, action, level, urgency, subject, body "
            f"FROM ops.outbox {where} ORDER BY id",
            args,
        ).fetchall()
        return [OutboxRow(r[0], _py(r[1]), *r[2:]) for r in rows]
