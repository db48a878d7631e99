"""RCAs, silences and handoff reports, in the operational store beside the incidents.

The same SQLite file and connection as resources/incident_store.py (its `conn`), in tables of their
own, so the lifecycle can grow without touching the incident schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from metrics_core.lifecycle import Silence
from resources.incident_store import _db, _py

_DDL = """
CREATE TABLE IF NOT EXISTS rcas (
    incident_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, severity TEXT NOT NULL,
    due_at TEXT NOT NULL, created_at TEXT NOT NULL, doc_url TEXT, done_by TEXT, done_at TEXT,
    overdue_notified_at TEXT
);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, check_name TEXT, starts_at TEXT NOT NULL,
    until TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, cancelled_at TEXT
);
CREATE TABLE IF NOT EXISTS silenced_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT, silence_id TEXT NOT NULL, at TEXT NOT NULL,
    pipeline TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, partition_key TEXT
);
CREATE TABLE IF NOT EXISTS handoff_reports (
    block_start TEXT PRIMARY KEY, sent_at TEXT NOT NULL, recipient TEXT, body TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Rca:
    incident_id: str
    pipeline: str
    severity: str
    due_at: datetime
    created_at: datetime
    doc_url: str | None
    done_by: str | None
    done_at: datetime | None
    overdue_notified_at: datetime | None

    def overdue(self, at: datetime) -> bool:
        return self.done_at is None and at >= self.due_at


class LifecycleStore:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.conn.executescript(_DDL)

    # -- RCAs --------------------------------------------------------------------------------
    def add_rca(self, incident_id: str, pipeline: str, severity: str, due_at: datetime, at: datetime) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO rcas (incident_id, pipeline, severity, due_at, created_at) "
            "VALUES (?, ?, ?, ?, ?)", [incident_id, pipeline, severity, _db(due_at), _db(at)],
        )

    def rca(self, incident_id: str) -> Rca | None:
        rows = self._rcas("WHERE incident_id = ?", [incident_id])
        return rows[0] if rows else None

    def rcas(self, *, pending: bool = False) -> list[Rca]:
        return self._rcas("WHERE done_at IS NULL" if pending else "", [])

    def _rcas(self, where: str, args: list[Any]) -> list[Rca]:
        rows = self.conn.execute(
            "SELECT incident_id, pipeline, severity, due_at, created_at, doc_url, done_by, done_at, "
            f"overdue_notified_at FROM rcas {where} ORDER BY due_at, incident_id", args,
        ).fetchall()
        return [Rca(r[0], r[1], r[2], _py(r[3]), _py(r[4]), r[5], r[6], _py(r[7]), _py(r[8])) for r in rows]

    def complete_rca(self, incident_id: str, doc_url: str, by: str, at: datetime) -> None:
        self.conn.execute("UPDATE rcas SET doc_url = ?, done_by = ?, done_at = ? WHERE incident_id = ?",
                          [doc_url, by, _db(at), incident_id])

    def mark_overdue_notified(self, incident_id: str, at: datetime) -> None:
        self.conn.execute("UPDATE rcas SET overdue_notified_at = ? WHERE incident_id = ?",
                          [_db(at), incident_id])

    # -- silences ----------------------------------------------------------------------------
    def next_silence_id(self) -> str:
        n = self.conn.execute("SELECT count(*) FROM silences").fetchone()[0]
        return f"SIL-{n + 1:04d}"

    def add_silence(self, s: Silence) -> None:
        self.conn.execute(
            "INSERT INTO silences (id, pipeline, check_name, starts_at, until, reason, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [s.id, s.pipeline, s.check, _db(s.starts_at), _db(s.until), s.reason, s.created_by],
        )

    def cancel_silence(self, silence_id: str, at: datetime) -> bool:
        cur = self.conn.execute("UPDATE silences SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL",
                                [_db(at), silence_id])
        return cur.rowcount == 1

    def silences(self) -> list[Silence]:
        rows = self.conn.execute(
            "SELECT id, pipeline, check_name, starts_at, until, reason, created_by, cancelled_at "
            "FROM silences ORDER BY starts_at, id"
        ).fetchall()
        return [Silence(r[0], r[1], r[2], _py(r[3]), _py(r[4]), r[5], r[6], _py(r[7])) for r in rows]

    def active_silences(self, at: datetime) -> list[Silence]:
        return [s for s in self.silences() if s.active(at)]

    def record_silenced(self, silence_id: str, at: datetime, pipeline: str, kind: str, subject: str,
                        partition: str | None) -> None:
        self.conn.execute(
            "INSERT INTO silenced_failures (silence_id, at, pipeline, kind, subject, partition_key) "
            "VALUES (?, ?, ?, ?, ?, ?)", [silence_id, _db(at), pipeline, kind, subject, partition],
        )

    def silenced_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT silence_id, count(*) FROM silenced_failures GROUP BY 1").fetchall()
        return {r[0]: r[1] for r in rows}

    # -- handoff reports ---------------------------------------------------------------------
    def handoff_sent(self, block_start: datetime) -> bool:
        row = self.conn.execute("SELECT 1 FROM handoff_reports WHERE block_start = ?",
                                [_db(block_start)]).fetchone()
        return row is not None

    def add_handoff(self, block_start: datetime, at: datetime, recipient: str | None, body: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO handoff_reports (block_start, sent_at, recipient, body) "
            "VALUES (?, ?, ?, ?)",
            [_db(block_start), _db(at), recipient, body],
        )
