"""A small Definitions tagged like the real graph, with switchable faults, for sensor tests.

raw/orders (untagged) -> fct_orders_exp (profit_unit, experiment; blocking ERROR check)
                       -> agg_profit_inv (profit_agg, investor; WARN check; FreshnessPolicy)
raw/signups (untagged) -> fct_signups_exp (growth_daily, experiment)
orphan (no pipeline, nothing downstream)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg

from metrics_core.alerting_model import OnCall
from metrics_core.config import pipeline_config

FAULTS: set[str] = set()  # names of assets/checks that should fail on the next run


def _owners(pid: str) -> list[str]:
    o = pipeline_config().get(pid).owners
    return [o.primary, o.secondary]


def _tags(pid: str) -> dict[str, str]:
    return {"pipeline": pid, "audience": pipeline_config().get(pid).audience.value}


def _maybe_fail(name: str) -> None:
    if name in FAULTS:
        raise RuntimeError(f"injected fault in {name}")


@dg.asset(key=["raw", "orders"])
def raw_orders() -> int:
    _maybe_fail("raw_orders")
    return 1


@dg.asset(key=["raw", "signups"])
def raw_signups() -> int:
    _maybe_fail("raw_signups")
    return 1


@dg.asset(deps=[raw_orders], owners=_owners("profit_unit"), tags=_tags("profit_unit"))
def fct_orders_exp() -> int:
    _maybe_fail("fct_orders_exp")
    return 1


@dg.asset(deps=[fct_orders_exp], owners=_owners("profit_agg"), tags=_tags("profit_agg"),
          freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=24)))
def agg_profit_inv() -> int:
    _maybe_fail("agg_profit_inv")
    return 1


@dg.asset(deps=[raw_signups], owners=_owners("growth_daily"), tags=_tags("growth_daily"))
def fct_signups_exp() -> int:
    _maybe_fail("fct_signups_exp")
    return 1


@dg.asset
def orphan() -> int:
    _maybe_fail("orphan")
    return 1


@dg.asset_check(asset=fct_orders_exp, blocking=True)
def orders_unique() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed="orders_unique" not in FAULTS, description="UP-1 duplicate orders")


@dg.asset_check(asset=agg_profit_inv)
def profit_trend() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed="profit_trend" not in FAULTS, severity=dg.AssetCheckSeverity.WARN)


ASSETS = [raw_orders, raw_signups, fct_orders_exp, agg_profit_inv, fct_signups_exp, orphan]
CHECKS = [orders_unique, profit_trend]
DEFS = dg.Definitions(assets=ASSETS, asset_checks=CHECKS)


@dataclass
class OffsetClock:
    """Real time plus an offset the test moves (event-log timestamps are real)."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class StaticLookup:
    primary: str = "alex.mehta@metrics.example.com"
    backup: str = "priya.rao@metrics.example.com"
    calls: list[datetime] = field(default_factory=list)

    def who(self, at: datetime) -> OnCall:
        self.calls.append(at)
        return OnCall(at=at, primary=self.primary, backup=self.backup)


@dataclass
class FixedCalendar:
    """Always (or never) working time; `opens` is where deferred pages go."""

    working: bool = True
    opens: timedelta = timedelta(hours=8)

    def is_working_time(self, at: datetime) -> bool:
        return self.working

    def next_working_start(self, at: datetime) -> datetime:
        return at + self.opens
