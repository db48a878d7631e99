"""The operational store of alerting: incidents, their events and the outbox, in a SQLite file.

Not in the warehouse: the daemon's sensors write here on every tick, and the embedded DuckDB file
takes one process at a time (resources/warehouse_lock.py), so a sensor must never open it. SQLite
in WAL mode takes concurrent readers with one writer at a time, and waits (busy_timeout) instead
of failing while another process commits. Default file: `data/ops.sqlite` beside the warehouse
(METRICS_OPS_STORE moves it). Times are stored as ISO-8601 UTC text and come back tz-aware.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metrics_core.alerting_model import FailureKind, Incident, Status
from resources.ops_db import connect as connect_ops_db

BUSY_TIMEOUT_MS = 30_000
_DDL = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, dedup_key TEXT NOT NULL, pipeline TEXT NOT NULL,
    kind TEXT NOT NULL, partition_key TEXT, severity TEXT NOT NULL, status TEXT NOT NULL,
    opened_at TEXT NOT NULL, page_start TEXT NOT NULL,
    primary_owner TEXT NOT NULL, secondary_owner TEXT NOT NULL,
    subjects TEXT NOT NULL, run_ids TEXT NOT NULL, summary TEXT, occurrences INTEGER NOT NULL,
    last_seen_at TEXT, acked_at TEXT, acked_by TEXT,
    resolved_at TEXT, resolved_by TEXT, resolution TEXT
);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (status, dedup_key);
CREATE TABLE IF NOT EXISTS incident_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL,
    event_at TEXT NOT NULL, event TEXT NOT NULL, level TEXT, recipient TEXT,
    channel TEXT, due_at TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events (incident_id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
    incident_id TEXT NOT NULL, recipient TEXT NOT NULL, action TEXT NOT NULL,
    level TEXT, urgency TEXT, subject TEXT NOT NULL, body TEXT NOT NULL
);
-- one row per message key and channel (resources/channels.py Dispatcher): status is sending |
-- delivered | pending (retried at next_attempt_at) | failed (permanent or given up); rows with
-- status channel / lookup hold a channel's health and Slack user look-ups (incident_id '-')
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL, message_key TEXT NOT NULL,
    channel TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    created_at TEXT NOT NULL, last_attempt_at TEXT, delivered_at TEXT, next_attempt_at TEXT,
    payload TEXT NOT NULL, UNIQUE (message_key, channel)
);
CREATE INDEX IF NOT EXISTS deliveries_incident ON deliveries (incident_id);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status);
"""
_COLS = (
    "id, dedup_key, pipeline, kind, partition_key, severity, status, opened_at, page_start, primary_owner, "
    "secondary_owner, subjects, run_ids, summary, occurrences, last_seen_at, acked_at, acked_by, "
    "resolved_at, resolved_by, resolution, items"
)
# Columns added after the first release: (table, column, type), added to older stores on open.
_MIGRATIONS = (("incidents", "items", "TEXT"),)


def _db(t: datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r} given to the incident store; pass tz-aware times")
    return t.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _py(t: str | datetime | None) -> datetime | None:
    if t is None:
        return None
    return (t if isinstance(t, datetime) else datetime.fromisoformat(t)).replace(tzinfo=UTC)


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
    """One SQLite connection; use `IncidentStore.open()` as a context manager."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.executescript(_DDL)
        for table, column, kind in _MIGRATIONS:
            have = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @classmethod
    @contextmanager
    def open(cls, path: Path | str | None = None) -> Iterator[IncidentStore]:
        # a SQLite file (WAL, autocommit) or a postgresql:// URL (METRICS_OPS_STORE): resources/ops_db.py
        with connect_ops_db(path or None, busy_timeout_ms=BUSY_TIMEOUT_MS) as conn:
            yield cls(conn)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so two sensors never interleave one incident
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- incidents ---------------------------------------------------------------------------
    def next_id(self) -> str:
        n = self.conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
        return f"INC-{n + 1:05d}"

    @staticmethod
    def _row(inc: Incident) -> list[Any]:
        return [
            inc.id, inc.dedup_key, inc.pipeline, inc.kind.value, inc.partition, inc.severity,
            inc.status.value, _db(inc.opened_at), _db(inc.page_start), inc.primary_owner,
            inc.secondary_owner, json.dumps(inc.subjects), json.dumps(inc.run_ids), inc.summary,
            inc.occurrences, _db(inc.last_seen_at), _db(inc.acked_at), inc.acked_by,
            _db(inc.resolved_at), inc.resolved_by, inc.resolution, json.dumps(inc.items),
        ]

    @staticmethod
    def _incident(r: tuple) -> Incident:
        return Incident(
            id=r[0], dedup_key=r[1], pipeline=r[2], kind=FailureKind(r[3]), partition=r[4], severity=r[5],
            status=Status(r[6]), opened_at=_py(r[7]), page_start=_py(r[8]), primary_owner=r[9],
            secondary_owner=r[10], subjects=json.loads(r[11]), run_ids=json.loads(r[12]), summary=r[13] or "",
            occurrences=r[14], last_seen_at=_py(r[15]), acked_at=_py(r[16]), acked_by=r[17],
            resolved_at=_py(r[18]), resolved_by=r[19], resolution=r[20],
            items=[tuple(i) for i in json.loads(r[21])] if r[21] else [(s, r[4]) for s in json.loads(r[11])],
        )

    def insert(self, inc: Incident) -> None:
        marks = ", ".join("?" * len(_COLS.split(",")))
        self.conn.execute(f"INSERT INTO incidents ({_COLS}) VALUES ({marks})", self._row(inc))

    def update(self, inc: Incident) -> None:
        cols = [c.strip() for c in _COLS.split(",")][1:]
        sets = ", ".join(f"{c} = ?" for c in cols)
        self.conn.execute(f"UPDATE incidents SET {sets} WHERE id = ?", [*self._row(inc)[1:], inc.id])

    def get(self, incident_id: str) -> Incident | None:
        r = self.conn.execute(f"SELECT {_COLS} FROM incidents WHERE id = ?", [incident_id]).fetchone()
        return self._incident(r) if r else None

    def open_by_key(self, key: str) -> Incident | None:
        r = self.conn.execute(
            f"SELECT {_COLS} FROM incidents WHERE dedup_key = ? AND status <> 'resolved' "
            "ORDER BY opened_at LIMIT 1",
            [key],
        ).fetchone()
        return self._incident(r) if r else None

    def open_incidents(self) -> list[Incident]:
        rows = self.conn.execute(
            f"SELECT {_COLS} FROM incidents WHERE status <> 'resolved' ORDER BY opened_at, id"
        ).fetchall()
        return [self._incident(r) for r in rows]

    def list(self, status: str | None = None, limit: int = 100) -> list[Incident]:
        """Newest first; `status` None or "all" lists every incident."""
        where, args = ("WHERE status = ?", [status]) if status and status != "all" else ("", [])
        rows = self.conn.execute(
            f"SELECT {_COLS} FROM incidents {where} ORDER BY opened_at DESC, id DESC LIMIT {int(limit)}",
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
            "INSERT INTO incident_events "
            "(incident_id, event_at, event, level, recipient, channel, due_at, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [incident_id, _db(at), event, level, recipient, channel, _db(due_at), detail],
        )

    def events(self, incident_id: str | None = None) -> list[EventRow]:
        where, args = ("WHERE incident_id = ?", [incident_id]) if incident_id else ("", [])
        rows = self.conn.execute(
            "SELECT id, incident_id, event_at, event, level, recipient, channel, due_at, detail "
            f"FROM incident_events {where} ORDER BY id",
            args,
        ).fetchall()
        return [EventRow(r[0], r[1], _py(r[2]), r[3], r[4], r[5], r[6], _py(r[7]), r[8]) for r in rows]

    def delivered_keys(self, incident_id: str) -> set[tuple[str, str, str]]:
        """(level, recipient, action) already delivered (or attempted) for this incident."""
        rows = self.conn.execute(
            "SELECT DISTINCT level, recipient, event FROM incident_events "
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
            "INSERT INTO outbox "
            "(created_at, incident_id, recipient, action, level, urgency, subject, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [_db(at), incident_id, recipient, action, level, urgency, subject, body],
        )

    def outbox(self, incident_id: str | None = None) -> list[OutboxRow]:
        where, args = ("WHERE incident_id = ?", [incident_id]) if incident_id else ("", [])
        rows = self.conn.execute(
            "SELECT id, created_at, incident_id, recipient, action, level, urgency, subject, body "
            f"FROM outbox {where} ORDER BY id",
            args,
        ).fetchall()
        return [OutboxRow(r[0], _py(r[1]), *r[2:]) for r in rows]

    # -- deliveries (one row per message key and channel) -------------------------------------
    _DELIVERY_COLS = ("id, incident_id, message_key, channel, status, attempts, last_error, created_at, "
                      "last_attempt_at, delivered_at, next_attempt_at, payload")

    def _delivery_rows(self, where: str, args: list[Any]) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            f"SELECT {self._DELIVERY_COLS} FROM deliveries {where} ORDER BY id", args).fetchall()
        names = [c.strip() for c in self._DELIVERY_COLS.split(",")]
        out = []
        for r in rows:
            d = dict(zip(names, r, strict=True))
            for t in ("created_at", "last_attempt_at", "delivered_at", "next_attempt_at"):
                d[t] = _py(d[t])
            out.append(d)
        return out

    def claim_delivery(self, *, incident_id: str, message_key: str, channel: str, payload: str,
                       at: datetime, status: str = "sending") -> bool:
        """Insert the row for (message_key, channel); False when it exists (sent or being sent), so
        two processes never deliver the same message on the same channel."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO deliveries (incident_id, message_key, channel, status, attempts, "
            "created_at, last_attempt_at, payload) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
            [incident_id, message_key, channel, status, _db(at), _db(at), payload],
        )
        return cur.rowcount == 1

    def claim_retry(self, row_id: int, at: datetime, stale_before: datetime) -> bool:
        """Take a pending row (or one left 'sending' by a process that died) for one retry."""
        cur = self.conn.execute(
            "UPDATE deliveries SET status = 'sending', last_attempt_at = ? WHERE id = ? AND "
            "(status = 'pending' OR (status = 'sending' AND last_attempt_at < ?))",
            [_db(at), row_id, _db(stale_before)],
        )
        return cur.rowcount == 1

    def update_delivery(self, message_key: str, channel: str, *, status: str, attempts: int,
                        at: datetime, last_error: str | None = None, delivered_at: datetime | None = None,
                        next_attempt_at: datetime | None = None, payload: str | None = None) -> None:
        self.conn.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, last_error = ?, last_attempt_at = ?, "
            "delivered_at = ?, next_attempt_at = ?, payload = coalesce(?, payload) "
            "WHERE message_key = ? AND channel = ?",
            [status, attempts, last_error, _db(at), _db(delivered_at), _db(next_attempt_at), payload,
             message_key, channel],
        )

    def delivery(self, message_key: str, channel: str) -> dict[str, Any] | None:
        rows = self._delivery_rows("WHERE message_key = ? AND channel = ?", [message_key, channel])
        return rows[0] if rows else None

    def deliveries(self, incident_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Delivery rows (oldest first), of one incident and/or one status."""
        where, args = [], []
        if incident_id is not None:
            where, args = [*where, "incident_id = ?"], [*args, incident_id]
        if status is not None:
            where, args = [*where, "status = ?"], [*args, status]
        return self._delivery_rows(("WHERE " + " AND ".join(where)) if where else "", args)

    def open_deliveries(self) -> list[dict[str, Any]]:
        """Rows not yet delivered nor given up (pending or being sent), oldest first."""
        return self._delivery_rows("WHERE status IN ('pending', 'sending')", [])
