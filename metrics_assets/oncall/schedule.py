"""The published schedule: weekly slots, holiday day overrides and the change log, as reviewable JSON.

Schedules are committed under config/oncall/ so that every re-plan is a diff a human can read. The
file is self-contained (e-mails, not ids; the holidays it was planned with) and byte-identical for
the same inputs: nothing in it depends on the wall clock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from metrics_core.config import ConfigError
from metrics_core.paths import config_dir

FORMAT = 1


@dataclass(frozen=True)
class Slot:
    id: str
    start: datetime
    end: datetime
    primary: str  # e-mail
    backup: str  # e-mail


@dataclass(frozen=True)
class DayOverride:
    """On a critical holiday the block's Backup acts as Primary (and Primary as Backup) for the day."""

    date: date
    holiday: str
    block: str
    start: datetime
    end: datetime
    primary: str  # acting primary (the block's backup)
    backup: str  # acting backup (the block's primary)

    @property
    def reason(self) -> str:
        return f"{self.holiday}: backup acts as primary"


@dataclass
class Schedule:
    rotation: str
    timezone: str
    people: dict[str, dict[str, str]]  # e-mail -> {id, name}
    slots: list[Slot]
    overrides: list[DayOverride] = field(default_factory=list)
    holidays: dict[str, str] = field(default_factory=dict)  # ISO date -> name, the company calendar used
    pto: list[dict[str, str]] = field(default_factory=list)  # PTO honoured: {person, start, end, reason}
    log: list[dict[str, Any]] = field(default_factory=list)  # generation, re-plans and every change
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return self.slots[0].start

    @property
    def end(self) -> datetime:
        return self.slots[-1].end

    def pid(self, email: str) -> str:
        return self.people.get(email, {}).get("id", email)

    # --- JSON -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def enc(o: Any) -> Any:
            if isinstance(o, datetime | date):
                return o.isoformat()
            if isinstance(o, dict):
                return {k: enc(v) for k, v in o.items()}
            if isinstance(o, list | tuple):
                return [enc(v) for v in o]
            return o

        return {
            "format": FORMAT,
            "rotation": self.rotation,
            "timezone": self.timezone,
            "meta": enc(self.meta),
            "people": self.people,
            "slots": [enc(asdict(s)) for s in self.slots],
            "overrides": [enc({**asdict(o), "reason": o.reason}) for o in self.overrides],
            "holidays": self.holidays,
            "pto": self.pto,
            "log": enc(self.log),
        }

    def to_json(self) -> str:
        """Pretty JSON with one slot / override / log entry per line, so re-plans diff line by line."""
        parts = []
        for k, v in self.to_dict().items():
            if isinstance(v, list) and v:
                items = ",\n".join("  " + json.dumps(x, ensure_ascii=False) for x in v)
                parts.append(f" {json.dumps(k)}: [\n{items}\n ]")
            else:
                parts.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}")
        return "{\n" + ",\n".join(parts) + "\n}\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> Schedule:
        try:
            if d.get("format") != FORMAT:
                raise ValueError(f"format {d.get('format')!r} is not {FORMAT}")
            tz = ZoneInfo(d["timezone"])

            def dt(v: str) -> datetime:
                return datetime.fromisoformat(v).astimezone(tz)

            slots = [
                Slot(s["id"], dt(s["start"]), dt(s["end"]), s["primary"], s["backup"]) for s in d["slots"]
            ]
            ovs = [
                DayOverride(
                    date.fromisoformat(o["date"]),
                    o["holiday"],
                    o["block"],
                    dt(o["start"]),
                    dt(o["end"]),
                    o["primary"],
                    o["backup"],
                )
                for o in d.get("overrides", [])
            ]
            sched = cls(
                d["rotation"],
                d["timezone"],
                d["people"],
                slots,
                ovs,
                d.get("holidays", {}),
                d.get("pto", []),
                d.get("log", []),
                d.get("meta", {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: not a valid on-call schedule: {exc!r}") from None
        for a, b in zip(slots, slots[1:], strict=False):
            if a.end != b.start:
                raise ConfigError(
                    f"{source}: gap or overlap between {a.id} (ends {a.end}) and {b.id} ({b.start})"
                )
        return sched

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: Path) -> Schedule:
        if not path.exists():
            raise ConfigError(f"on-call schedule {path} does not exist; run `metrics oncall generate`")
        try:
            return cls.from_dict(json.loads(path.read_text()), str(path))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from None


def schedule_dir() -> Path:
    return config_dir() / "oncall"


def schedule_path(year: int) -> Path:
    return schedule_dir() / f"schedule-{year}.json"


def day_overrides(slots: list[Slot], critical: dict[date, str], tz: Any) -> list[DayOverride]:
    """Split each critical holiday (local midnight to midnight) over the blocks it touches."""
    out = []
    for d, name in sorted(critical.items()):
        ds = datetime.combine(d, datetime.min.time(), tz)
        de = datetime.combine(d + timedelta(days=1), datetime.min.time(), tz)
        for s in slots:
            lo, hi = max(ds, s.start), min(de, s.end)
            if lo < hi:
                out.append(DayOverride(d, name, s.id, lo, hi, primary=s.backup, backup=s.primary))
    return out
