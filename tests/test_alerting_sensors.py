"""The four alert sensors against a small tagged Definitions and a real (ephemeral) instance."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG, ROOT_RUN_ID_TAG, WILL_RETRY_TAG

from metrics_assets.alerting.routing import AssetRouter
from metrics_assets.alerting.runtime import AlertRuntime
from metrics_assets.alerting.sensors import build_alert_sensors
from metrics_core.alerting_model import FailureKind, Status
from metrics_core.config import pipeline_config
from resources.incident_store import IncidentStore
from tests.fakes import alert_defs as fx

AM, PR = "alex.mehta@metrics.example.com", "priya.rao@metrics.example.com"
PLATFORM_LEAD = "platform-lead@metrics.example.com"


class Harness:
    def __init__(self, tmp_path, working=True):
        self.db = tmp_path / "ops.sqlite"
        self.clock = fx.OffsetClock()
        self.lookup = fx.StaticLookup()
        self.runtime = AlertRuntime(
            clock=self.clock, store_path=lambda: self.db, lookup=lambda roles, s: self.lookup,
            calendar=lambda s: fx.FixedCalendar(working=working), env={},
        )
        self.sensors = {s.name: s for s in build_alert_sensors(self.runtime)}
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursors: dict[str, str | None] = {}
        self.repo = fx.DEFS.get_repository_def()

    def tick(self, name: str) -> str:
        ctx = dg.build_sensor_context(instance=self.instance, repository_def=self.repo,
                                      cursor=self.cursors.get(name))
        result = self.sensors[name](ctx)
        self.cursors[name] = ctx.cursor
        return result.skip_message

    def tick_all(self) -> list[str]:
        """Every sensor but the SLA-at-risk one, which judges the wall clock against real deadlines:
        its tests set the clock (test_sla_at_risk_*)."""
        return [self.tick(n) for n in self.sensors if n != "alert_on_sla_at_risk"]

    def run(self, selection, faults=(), tags=None):
        fx.FAULTS.clear()
        fx.FAULTS.update(faults)
        try:
            return dg.materialize(fx.ASSETS + fx.CHECKS, selection=selection, instance=self.instance,
                                  raise_on_error=False, tags=tags or {})
        finally:
            fx.FAULTS.clear()

    def incidents(self):
        with IncidentStore.open(self.db) as s:
            return s.list()

    def deliveries(self, incident_id=None):
        with IncidentStore.open(self.db) as s:
            return [(e.event, e.level, e.recipient) for e in s.events(incident_id)
                    if e.event in ("page", "notify", "role")]

    def outbox(self):
        with IncidentStore.open(self.db) as s:
            return s.outbox()


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path)


def test_router_maps_untagged_assets_to_downstream_pipelines():
    router = AssetRouter(fx.DEFS.resolve_asset_graph(), pipeline_config())
    r = lambda *k: [(x.pipeline, x.feeds_investor) for x in router.routes(dg.AssetKey(list(k)))]  # noqa: E731
    assert r("raw", "orders") == [("profit_unit", True)]
    assert r("fct_orders_exp") == [("profit_unit", True)]  # experiment, but feeds an investor asset
    assert r("agg_profit_inv") == [("profit_agg", False)]
    assert r("raw", "signups") == [("growth_daily", False)]
    assert r("fct_signups_exp") == [("growth_daily", False)]
    assert router.unmapped() == [dg.AssetKey("orphan")]


def test_five_sensors_running_by_default(h):
    assert set(h.sensors) == {"alert_on_failed_runs", "alert_on_check_failures",
                              "alert_on_freshness_failures", "alert_on_sla_at_risk",
                              "escalate_open_incidents"}
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in h.sensors.values())


def test_failed_investor_run_pages_on_call_once_then_rerun_resolves(h):
    res = h.run("*agg_profit_inv", faults={"agg_profit_inv"})
    assert not res.success
    h.tick_all()
    (inc,) = h.incidents()
    assert (inc.pipeline, inc.kind, inc.severity, inc.subjects) == ("profit_agg", FailureKind.RUN_FAILURE,
                                                                     "sev1", ["agg_profit_inv"])
    assert h.deliveries(inc.id) == [("page", "primary_oncall", AM)]  # AM is also the primary owner
    h.tick_all()  # nothing new
    assert h.deliveries(inc.id) == [("page", "primary_oncall", AM)]
    h.clock.advance(minutes=11)
    h.tick("escalate_open_incidents")
    assert h.deliveries(inc.id)[-1] == ("page", "backup_oncall", PR)
    assert h.run("agg_profit_inv").success
    h.tick_all()
    (inc,) = h.incidents()
    assert inc.status is Status.RESOLVED


def test_untagged_raw_failure_goes_to_downstream_pipeline_as_investor_impact(h):
    h.run("raw/orders", faults={"raw_orders"})
    h.tick("alert_on_failed_runs")
    (inc,) = h.incidents()
    assert (inc.pipeline, inc.severity, inc.subjects) == ("profit_unit", "sev1", ["raw/orders"])


def test_experiment_failure_outside_hours_is_deferred_and_resolved_by_a_good_rerun(tmp_path):
    h = Harness(tmp_path, working=False)
    h.run("*fct_signups_exp", faults={"fct_signups_exp"})
    h.tick_all()
    (inc,) = h.incidents()
    assert (inc.pipeline, inc.severity, inc.status) == ("growth_daily", "sev2", Status.DEFERRED)
    assert h.deliveries() == []
    assert h.run("fct_signups_exp").success
    h.tick_all()
    h.clock.advance(hours=9)
    h.tick_all()
    (inc,) = h.incidents()
    assert inc.status is Status.RESOLVED and "nobody paged" in inc.resolution
    assert h.deliveries() == [] and h.outbox() == []


def test_deferred_incident_recovered_out_of_band_is_resolved_when_window_opens(tmp_path):
    """The escalation sensor re-checks the asset itself before paging a deferred incident."""
    h = Harness(tmp_path, working=False)
    h.run("*fct_signups_exp", faults={"fct_signups_exp"})
    h.tick("alert_on_failed_runs")
    h.run("fct_signups_exp")  # fixed, but the run sensor does not tick before the window opens
    h.clock.advance(hours=9)
    h.tick("escalate_open_incidents")
    (inc,) = h.incidents()
    assert inc.status is Status.RESOLVED and h.deliveries() == []


def test_blocking_error_check_pages_once_as_check_error_not_twice(h):
    res = h.run("*agg_profit_inv", faults={"orders_unique"})
    assert not res.success  # blocking check stopped agg_profit_inv
    h.tick_all()
    (inc,) = h.incidents()
    assert (inc.pipeline, inc.kind, inc.severity) == ("profit_unit", FailureKind.CHECK_ERROR, "sev1")
    assert inc.subjects == ["fct_orders_exp:orders_unique"]
    pages = [d for d in h.deliveries() if d[0] == "page"]
    assert pages == [("page", "primary_oncall", AM)]
    assert h.run("*agg_profit_inv").success
    h.tick_all()
    assert h.incidents()[0].status is Status.RESOLVED


def test_warn_check_notifies_owner_and_never_pages(h):
    assert h.run("*agg_profit_inv", faults={"profit_trend"}).success  # WARN never fails the run
    h.tick_all()
    (inc,) = h.incidents()
    assert (inc.kind, inc.severity) == (FailureKind.CHECK_WARN, "notice")
    assert h.deliveries() == [("notify", "primary_owner", AM)]
    h.clock.advance(hours=8)
    h.tick_all()
    assert [d for d in h.deliveries() if d[0] == "page"] == []


def test_check_cursor_reads_every_new_evaluation_once(h):
    h.tick("alert_on_check_failures")  # cursor established
    for _ in range(3):
        h.run("*agg_profit_inv", faults={"profit_trend"})
    h.tick("alert_on_check_failures")
    (inc,) = h.incidents()
    assert inc.occurrences == 3
    h.tick("alert_on_check_failures")
    assert h.incidents()[0].occurrences == 3


def test_freshness_fail_opens_and_pass_resolves(h):
    key = dg.AssetKey("agg_profit_inv")
    h.instance.report_runless_asset_event(
        FreshnessStateChange(key=key, new_state=FreshnessState.FAIL, previous_state=FreshnessState.PASS,
                             state_change_timestamp=time.time()))
    h.tick("alert_on_freshness_failures")
    (inc,) = h.incidents()
    assert (inc.pipeline, inc.kind, inc.severity) == ("profit_agg", FailureKind.FRESHNESS, "sev1")
    assert h.deliveries(inc.id) == [("page", "primary_oncall", AM)]
    h.tick("alert_on_freshness_failures")
    assert len(h.incidents()) == 1
    h.instance.report_runless_asset_event(
        FreshnessStateChange(key=key, new_state=FreshnessState.PASS, previous_state=FreshnessState.FAIL,
                             state_change_timestamp=time.time()))
    h.tick("alert_on_freshness_failures")
    assert h.incidents()[0].status is Status.RESOLVED


def test_failure_whose_retry_already_succeeded_is_skipped(h):
    failed = h.run("agg_profit_inv", faults={"agg_profit_inv"})
    root = failed.run_id
    h.run("agg_profit_inv", tags={ROOT_RUN_ID_TAG: root, PARENT_RUN_ID_TAG: root, RETRY_NUMBER_TAG: "1"})
    h.tick("alert_on_failed_runs")
    assert h.incidents() == []


def test_run_that_will_be_retried_waits_and_succeeding_retry_resolves(h):
    h.run("agg_profit_inv", faults={"agg_profit_inv"}, tags={WILL_RETRY_TAG: "true"})
    h.tick("alert_on_failed_runs")
    assert h.incidents() == []
    first = h.run("agg_profit_inv", faults={"agg_profit_inv"})  # a failure nobody retries: paged
    h.tick("alert_on_failed_runs")
    (inc,) = h.incidents()
    assert inc.run_ids == [first.run_id]
    h.run("agg_profit_inv", tags={ROOT_RUN_ID_TAG: first.run_id, PARENT_RUN_ID_TAG: first.run_id})
    h.tick("alert_on_failed_runs")
    assert h.incidents()[0].status is Status.RESOLVED
    assert "succeeded" in h.incidents()[0].resolution


def test_unmapped_asset_notifies_platform_lead(h):
    h.run("orphan", faults={"orphan"})
    h.tick("alert_on_failed_runs")
    assert h.incidents() == []
    (msg,) = h.outbox()
    assert msg.recipient == PLATFORM_LEAD and "belongs to no pipeline" in msg.subject


# ---------------------------------------------------------------------------- SLA at risk
PROFIT_DAY = "2026-10-05"  # profit_agg's daily deadline for it: 2026-10-06 08:00 UTC


def _investor_table(name: str) -> dg.AssetsDefinition:
    """Stands in for a publish asset: its `published` metadata names the days it published."""

    @dg.asset(key=["investor", name], partitions_def=dg.DailyPartitionsDefinition("2026-10-01"))
    def _table(context):  # no annotation: this module has `from __future__ import annotations`
        return dg.MaterializeResult(metadata={"published": context.partition_key})

    return _table


_profit_daily, _profit_by_region = _investor_table("profit_daily"), _investor_table("profit_daily_by_region")


def _at(h: Harness, instant: str) -> None:
    h.clock.offset = datetime.fromisoformat(instant).replace(tzinfo=UTC) - datetime.now(UTC)


def test_sla_at_risk_opens_30_minutes_before_the_deadline_and_resolves_on_publication(h):
    def profit():
        return [i for i in h.incidents() if i.kind is FailureKind.SLA_AT_RISK
                and "investor/profit_daily" in i.subjects and i.partition == PROFIT_DAY]

    _at(h, "2026-10-06T07:29:00")
    h.tick("alert_on_sla_at_risk")
    assert profit() == []  # 31 min before its deadline: not yet (the day before, unpublished, is)
    _at(h, "2026-10-06T07:30:30")
    h.tick("alert_on_sla_at_risk")
    risk = [i for i in h.incidents() if i.kind is FailureKind.SLA_AT_RISK]
    profit = profit()
    assert len(profit) == 1 and profit[0].status is Status.OPEN  # one per pipeline and day
    assert profit[0].subjects == ["investor/profit_daily", "investor/profit_daily_by_region"]
    assert ("notify", "primary_owner", AM) in h.deliveries(profit[0].id)  # the owner, not a page
    assert not [d for d in h.deliveries(profit[0].id) if d[0] == "page"]
    h.tick("alert_on_sla_at_risk")  # a second tick attaches nothing new
    assert len([i for i in h.incidents() if i.kind is FailureKind.SLA_AT_RISK]) == len(risk)
    dg.materialize([_profit_daily], partition_key=PROFIT_DAY, instance=h.instance)
    h.tick("alert_on_sla_at_risk")
    (after,) = [i for i in h.incidents() if i.id == profit[0].id]
    assert after.status is Status.OPEN and after.subjects == ["investor/profit_daily_by_region"]
    dg.materialize([_profit_by_region], partition_key=PROFIT_DAY, instance=h.instance)
    h.tick("alert_on_sla_at_risk")
    (after,) = [i for i in h.incidents() if i.id == profit[0].id]
    assert after.status is Status.RESOLVED  # every table of the day published


def test_a_day_published_in_time_never_is_at_risk(h):
    dg.materialize([_profit_daily], partition_key=PROFIT_DAY, instance=h.instance)
    _at(h, "2026-10-06T07:45:00")
    h.tick("alert_on_sla_at_risk")
    at_risk = [i.subjects for i in h.incidents() if i.kind is FailureKind.SLA_AT_RISK
               and i.partition == PROFIT_DAY and i.pipeline == "profit_agg"]
    assert at_risk == [["investor/profit_daily_by_region"]]  # only the table not yet published
