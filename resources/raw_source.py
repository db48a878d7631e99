"""Where raw data comes from in production: tables other systems landed in the warehouse. The
embedded default's generator (metrics_assets.generator.landing) gives the raw asset the same
contract."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from metrics_core.sources import SOURCES, Source
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
    """Production: the tables other systems landed in the warehouse. Landing only verifies that
    the source's table exists; the embedded default swaps in the synthetic world's generator
    (`metrics_assets.generator.landing.SyntheticRawSource`), which this adapter never imports."""

    def land(
        self, warehouse: Warehouse, source: Source, start: date, end: date, now: datetime | None = None
    ) -> None:
        with warehouse.connect() as con:
            missing = missing_raw_tables(con, [source.name])
        if missing:
            raise MissingRawTableError(
                f"raw table {missing[0]} does not exist in the warehouse; the {source.name} feed "
                "has not landed (check the loader, then re-run this partition)"
            )
