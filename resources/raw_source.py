"""Where raw data comes from: the seeded synthetic generator (embedded default) or tables that
other systems landed in the warehouse (production). Both give the raw asset the same contract."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from metrics_assets.sources import SOURCES, Source
from resources.warehouse import Warehouse


class MissingRawTableError(RuntimeError):
    """A raw table the pipelines read does not exist in the warehouse."""


def missing_raw_tables(con, names: list[str] | None = None) -> list[str]:
    """Fully qualified names of raw tables that are absent from the warehouse."""
    wanted = names or list(SOURCES)
    present = {
        r[0].lower()
        for r in con.execute(
            "select table_name from information_schema.tables where lower(table_schema) = 'raw'"
        ).fetchall()
    }
    return [SOURCES[n].table for n in wanted if n not in present]


class RawSource(dg.ConfigurableResource):
    """mode `synthetic` generates the window; mode `landed` only verifies that the tables exist.

    Synthetic landing follows the run clock `now`: the window's partitions hold only the rows that
    had landed by `now`, and for the sources whose rows keep landing after their day (payments and
    cost lines after midnight, refunds, events received late: LATE_LANDING_SOURCES) the partition
    right after the window holds what had landed of it by `now`, as a continuously running loader
    leaves it. That is what lets a morning run see yesterday's late cost lines, as production does."""

    mode: str = "synthetic"
    scale_factor: float = 0.05
    seed: int = 0
    launch_date: str = "2025-01-01"

    def land(
        self, warehouse: Warehouse, source: Source, start: date, end: date, now: datetime | None = None
    ) -> None:
        with warehouse.connect() as con:
            if self.mode == "synthetic":
                from metrics_assets.generator import LATE_LANDING_SOURCES, ensure_raw_tables, write_partitions

                ensure_raw_tables(con)
                kw = {
                    "scale_factor": self.scale_factor,
                    "seed": self.seed,
                    "launch_date": date.fromisoformat(self.launch_date),
                    "landed_by": now,
                }
                write_partitions(con, source.name, start, end, **kw)
                if now is not None and source.name in LATE_LANDING_SOURCES and end <= now.date():
                    write_partitions(con, source.name, end, end + timedelta(days=1), **kw)
            elif self.mode == "landed":
                missing = missing_raw_tables(con, [source.name])
                if missing:
                    raise MissingRawTableError(
                        f"raw table {missing[0]} does not exist in the warehouse; the {source.name} feed "
                        "has not landed (check the loader, then re-run this partition)"
                    )
            else:
                raise ValueError(f"RawSource.mode={self.mode!r}; expected 'synthetic' or 'landed'")
