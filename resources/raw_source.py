"""Where raw data comes from: the seeded synthetic generator (embedded default) or tables that
other systems landed in the warehouse (production). Both give the raw asset the same contract."""

from __future__ import annotations

from datetime import date

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
    """mode `synthetic` generates the window; mode `landed` only verifies that the tables exist."""

    mode: str = "synthetic"
    scale_factor: float = 0.05
    seed: int = 0
    launch_date: str = "2025-01-01"

    def land(self, warehouse: Warehouse, source: Source, start: date, end: date) -> None:
        with warehouse.connect() as con:
            if self.mode == "synthetic":
                from metrics_assets.generator import ensure_raw_tables, write_partitions

                ensure_raw_tables(con)
                write_partitions(
                    con, source.name, start, end, scale_factor=self.scale_factor, seed=self.seed,
                    launch_date=date.fromisoformat(self.launch_date),
                )
            elif self.mode == "landed":
                missing = missing_raw_tables(con, [source.name])
                if missing:
                    raise MissingRawTableError(
                        f"raw table {missing[0]} does not exist in the warehouse; the {source.name} feed "
                        "has not landed (check the loader, then re-run this partition)"
                    )
            else:
                raise ValueError(f"RawSource.mode={self.mode!r}; expected 'synthetic' or 'landed'")
