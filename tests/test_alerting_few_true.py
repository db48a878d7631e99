"""Few, true alerts (issue 12 item 3): one incident per pipeline, kind and launch listing its days;
a policy refusal is a notice to the launcher, not a page; occurrences count only new evaluations."""

from __future__ import annotations

import dagster as dg
import pytest

from metrics_assets.alerting.clock import FakeClock
from metrics_core.alerting_model import Failure, FailureKind, Recovery, Status, describe_days
from metrics_core.config import pipeline_config
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import ist
from tests.test_alerting_sensors import AM, Harness

FAULTS: set[str] = set()
DAYS = [f"2026-10-0{i}" for i in range(1, 8)]
LAUNCHER = "chen.wu@metrics.example.com"
_owners = pipeline_config().get("profit_agg").owners
_TAGS = {"pipeline": "profit_agg", "audience": "investor"}


@dg.asset(partitions_def=dg.DailyPartitionsDefinition("2026-10-01"),
          owners=[_owners.primary, _owners.secondary], tags=_TAGS)
def orders_daily(context):  # no annotation: this module has `from __future__ import annotations`
    if "orders_daily" in FAULTS:
        raise RuntimeError(f"injected fault for {context.partition_key}")


@dg.asset(owners=[_owners.primary], tags=_TAGS)
def held_table():
    """Stands in for a publication refused by policy only (the publish asset's dg.Failure)."""
    if "held_table" in FAULTS:
        raise dg.Failure(description="2026-09-30 is in a closed period; restating it needs approved_by",
                         metadata={"policy_hold": True})


@dg.asset_check(asset=held_table, name="publication_gate")
def held_gate():
    return dg.AssetCheckResult(passed="held_gate" not in FAULTS, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"policy_hold": "held_gate" in FAULTS},
                               description="refused 1: closed period without approval")


@dg.asset(owners=[_owners.primary], tags=_TAGS)
def flaky():
    if "flaky" in FAULTS:
        raise RuntimeError("flaky failed")


@dg.asset_check(asset=flaky)
def flaky_check():
    return dg.AssetCheckResult(passed="flaky_check" not in FAULTS)


DEFS = dg.Definitions(assets=[orders_daily, held_table, flaky], asset_checks=[held_gate, flaky_check])


class FewHarness(Harness):
    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.repo = DEFS.get_repository_def()

    def run(self, selection, faults=(), tags=None, partition_key=None):  # type: ignore[override]
        FAULTS.clear()
        FAULTS.update(faults)
        try:
            return dg.materialize([orders_daily, held_table, flaky, held_gate, flaky_check],
                                  selection=selection, instance=self.instance, raise_on_error=False,
                                  tags=tags or {}, partition_key=partition_key)
        finally:
            FAULTS.clear()


@pytest.fixture
def h(tmp_path):
    return FewHarness(tmp_path)


def test_a_failed_seven_day_backfill_is_one_incident_listing_its_days(h):
    for day in DAYS:
        assert not h.run("orders_daily", {"orders_daily"}, {"dagster/backfill": "bf7"}, day).success
    h.tick("alert_on_failed_runs")
    (inc,) = h.incidents()
    assert (inc.kind, inc.severity) == (FailureKind.RUN_FAILURE, "sev1")
    assert inc.partition == "2026-10-01..2026-10-07"
    assert inc.days == DAYS and inc.occurrences == 7 and len(inc.run_ids) == 7
    assert [d for d in h.deliveries(inc.id) if d[0] == "page"] == [("page", "primary_oncall", AM)]
    # days re-run with success leave the incident open on the rest; the last one resolves it
    for day in DAYS[:3]:
        assert h.run("orders_daily", partition_key=day).success
    h.tick("alert_on_failed_runs")
    (inc,) = h.incidents()
    assert inc.status is Status.OPEN and inc.partition == "2026-10-04..2026-10-07"
    for day in DAYS[3:]:
        h.run("orders_daily", partition_key=day)
    h.tick("alert_on_failed_runs")
    assert h.incidents()[0].status is Status.RESOLVED


def test_separate_launches_are_separate_incidents_but_the_same_day_attaches(h):
    h.run("orders_daily", {"orders_daily"}, partition_key=DAYS[0])
    h.run("orders_daily", {"orders_daily"}, partition_key=DAYS[1])
    h.tick("alert_on_failed_runs")
    assert sorted(i.partition for i in h.incidents()) == DAYS[:2]
    h.run("orders_daily", {"orders_daily"}, partition_key=DAYS[1])  # tried again by hand, fails again
    h.tick("alert_on_failed_runs")
    incs = h.incidents()
    assert len(incs) == 2 and max(i.occurrences for i in incs) == 2


def test_a_policy_refusal_notifies_the_launcher_and_pages_nobody(h):
    res = h.run("held_table", {"held_table", "held_gate"}, {"launched_by": LAUNCHER})
    assert not res.success
    h.tick_all()
    h.tick_all()
    assert h.incidents() == []
    notices = [o for o in h.outbox() if o.level == "policy:profit_agg"]
    assert [(o.recipient, o.urgency) for o in notices] == [(LAUNCHER, "info")]  # once per launch
    assert "closed period" in notices[0].body and "nobody was paged" in notices[0].body


def test_a_policy_hold_without_a_known_launcher_goes_to_the_primary_owner(h):
    assert h.run("held_table", {"held_gate"}).success  # a WARN hold: the run itself succeeds
    h.tick("alert_on_check_failures")
    assert h.incidents() == []
    assert [o.recipient for o in h.outbox()] == [AM]


def test_occurrences_count_only_new_evaluations_even_with_a_check_left_planned(h):
    h.tick("alert_on_check_failures")  # cursor established
    h.run("flaky", {"flaky"})  # the asset fails: its check stays PLANNED for good
    h.run("flaky", {"flaky_check"})  # then the check fails once
    for _ in range(4):
        h.tick("alert_on_check_failures")
    (inc,) = h.incidents()
    assert inc.kind is FailureKind.CHECK_ERROR and inc.occurrences == 1


def test_describe_days_compacts_ranges():
    assert describe_days(["2026-10-03", "2026-10-01", "2026-10-02", "2026-10-05"]) == (
        "2026-10-01..2026-10-03,2026-10-05")
    assert describe_days([]) is None
    assert describe_days(["2026-10", "2026-10-01"]) == "2026-10-01,2026-10"


def test_engine_recovery_of_one_day_keeps_the_others(tmp_path):
    clock = FakeClock(ist("2026-03-07 02:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        fs = [Failure("profit_agg", FailureKind.RUN_FAILURE, s, clock.now(), d, launch="bf", run_id=f"r{d}")
              for s in ("a", "b") for d in DAYS[:2]]
        (inc_id,) = eng.report(fs).opened
        eng.recover([Recovery("profit_agg", FailureKind.RUN_FAILURE, "a", clock.now(), DAYS[0])])
        inc = eng.store.get(inc_id)
        assert inc.is_open and sorted(inc.items) == [("a", DAYS[1]), ("b", DAYS[0]), ("b", DAYS[1])]
        eng.recover([Recovery("profit_agg", FailureKind.RUN_FAILURE, s, clock.now(), None) for s in "ab"])
        assert eng.store.get(inc_id).status is Status.RESOLVED
