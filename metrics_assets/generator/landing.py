"""The embedded default's raw source: the seeded generator lands each window in DuckDB."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from metrics_assets.generator import LATE_LANDING_SOURCES, ensure_raw_tables, write_partitions
from metrics_core.sources import Source
from resources.raw_source import RawSource
from resources.warehouse import Warehouse


class SyntheticRawSource(RawSource):
    """Generates the window instead of verifying it landed.

    Landing follows the run clock `now`: the window's partitions hold only the rows that had
    landed by `now`, and for the sources whose rows keep landing after their day (payments and
    cost lines after midnight, refunds, events received late: LATE_LANDING_SOURCES) the partition
    right after the window holds what had landed of it by `now`, as a continuously running loader
    leaves it. That is what lets a morning run see yesterday's late cost lines, as production does."""

    scale_factor: float = 0.05
    seed: int = 0
    launch_date: str = "2025-01-01"

    def land(
        self, warehouse: Warehouse, source: Source, start: date, end: date, now: datetime | None = None
    ) -> None:
        kw = {
            "scale_factor": self.scale_factor,
            "seed": self.seed,
            "launch_date": date.fromisoformat(self.launch_date),
            "landed_by": now,
        }
        with warehouse.connect() as con:
            ensure_raw_tables(con)
            write_partitions(con, source.name, start, end, **kw)
            if now is not None and source.name in LATE_LANDING_SOURCES and end <= now.date():
                write_partitions(con, source.name, end, end + timedelta(days=1), **kw)
