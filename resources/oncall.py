"""Dagster resource wrapping the on-call lookup, so sensors and assets ask "who is on call" the same way."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
from pydantic import PrivateAttr

from metrics_assets.oncall.calendar import is_working_time, next_working_start
from metrics_assets.oncall.lookup import OnCall, OnCallLookup


class OnCallResource(dg.ConfigurableResource):
    """`schedule_path` empty: every published config/oncall/schedule-*.json."""

    schedule_path: str = ""
    _lookup: OnCallLookup | None = PrivateAttr(default=None)

    def lookup(self) -> OnCallLookup:
        if self._lookup is None:
            self._lookup = OnCallLookup.from_config(self.schedule_path or None)
        return self._lookup

    def who(self, at: datetime) -> OnCall:
        return self.lookup().who(at)

    def is_working_time(self, at: datetime) -> bool:
        return is_working_time(at)

    def next_working_start(self, at: datetime) -> datetime:
        return next_working_start(at)
