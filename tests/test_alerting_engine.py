"""Engine behaviour over a temporary DuckDB: incidents, dedupe, deferral, acks, idempotent ticks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from metrics_assets.alerting.clock import FakeClock
from metrics_core.alerting_model import Failure, FailureKind, Recovery, Status
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import PEOPLE, ist


@pytest.fixture
def clock():
    return FakeClock(ist("2026-03-07 02:00"))


def _fail(pipeline="profit_agg", at="2026-03-07 02:00", subject="fct_profit_daily",
          kind=FailureKind.RUN_FAILURE,
          **kw) -> Failure:
    return Failure(pipeline=pipeline, kind=kind, subject=subject, at=ist(at), **kw)


def test_investor_failure_pages_once_and_ack_stops_the_ladder(tmp_path, clock):
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        rep = eng.report([_fail(run_id="r1")])
        (inc_id,) = rep.opened
        assert rep.delivered == [(inc_id, "page", "primary_oncall", PEOPLE["AM"])]
        # repeats attach, they don't page again
        clock.advance(minutes=3)
        rep2 = eng.report([_fail(at="2026-03-07 02:03", subject="agg_profit_region", run_id="r2")])
        assert rep2.opened == [] and rep2.attached == 1 and rep2.delivered == []
        inc = eng.store.get(inc_id)
        assert inc.occurrences == 2 and inc.subjects == ["fct_profit_daily", "agg_profit_region"]
        assert inc.run_ids == ["r1", "r2"]
        clock.advance(minutes=7)  # 02:10
        assert eng.advance().delivered == [(inc_id, "page", "backup_oncall", PEOPLE["PR"])]
        assert eng.advance().delivered == []  # idempotent
        clock.advance(minutes=2)
        eng.ack(inc_id, by=PEOPLE["PR"])
        clock.advance(hours=1)
        assert eng.advance().delivered == []  # IC and platform lead never paged
        assert eng.store.get(inc_id).status is Status.ACKED
        clock.advance(hours=1)  # 04:12 -> business escalation ignores acks
        assert eng.advance().delivered == [(inc_id, "notify", "business:engineering_manager", PEOPLE["EM"])]
        eng.resolve(inc_id, by=PEOPLE["PR"], reason="reran")
        events = [e.event for e in eng.store.events(inc_id)]
        assert events == ["opened", "status", "page", "page", "ack", "notify", "resolve", "rca_due", "status"]
        assert {o.recipient for o in eng.store.outbox(inc_id)} >= {PEOPLE["AM"], PEOPLE["PR"], PEOPLE["EM"]}


def test_one_incident_per_pipeline_kind_and_partition(tmp_path, clock):
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        rep = eng.report([
            _fail(partition="2026-03-06"), _fail(partition="2026-03-06", subject="x"),
            _fail(partition="2026-03-05"), _fail(kind=FailureKind.CHECK_ERROR, partition="2026-03-06"),
            _fail(pipeline="growth_agg", partition="2026-03-06"),
        ])
        assert len(rep.opened) == 4 and rep.attached == 1


def test_deferred_experiment_alert_resolves_without_paging_when_recovered(tmp_path):
    clock = FakeClock(ist("2026-03-10 22:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        rep = eng.report([_fail(pipeline="growth_daily", at="2026-03-10 22:00", subject="fct_new_users")])
        (inc_id,) = rep.opened
        inc = eng.store.get(inc_id)
        assert inc.status is Status.DEFERRED and inc.page_start == ist("2026-03-11 09:00")
        assert rep.delivered == []
        clock.set(ist("2026-03-11 02:00"))
        eng.recover([Recovery("growth_daily", FailureKind.RUN_FAILURE, "fct_new_users", clock.now())])
        clock.set(ist("2026-03-11 09:01"))
        assert eng.advance().delivered == []
        inc = eng.store.get(inc_id)
        assert inc.status is Status.RESOLVED and "nobody paged" in inc.resolution
        assert eng.store.outbox() == []


@pytest.mark.parametrize("recovered", [True, False])
def test_deferred_alert_is_rechecked_when_the_window_opens(tmp_path, recovered):
    clock = FakeClock(ist("2026-03-10 22:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        (inc_id,) = eng.report([_fail(pipeline="growth_daily", at="2026-03-10 22:00")]).opened
        clock.set(ist("2026-03-11 08:59"))
        assert eng.advance(lambda inc: recovered).delivered == []
        clock.set(ist("2026-03-11 09:00"))
        rep = eng.advance(lambda inc: recovered)
        if recovered:
            assert rep.resolved == [inc_id] and rep.delivered == []
        else:
            assert rep.delivered == [(inc_id, "notify", "primary_oncall", PEOPLE["SK"])]  # sev2 notifies


def test_failure_feeding_investor_raises_a_deferred_incident_and_pages(tmp_path):
    clock = FakeClock(ist("2026-03-10 22:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        first = _fail(pipeline="profit_unit", at="2026-03-10 22:00", subject="exp_cut")
        (inc_id,) = eng.report([first]).opened
        assert eng.store.get(inc_id).status is Status.DEFERRED
        clock.advance(minutes=5)
        rep = eng.report([_fail(pipeline="profit_unit", at="2026-03-10 22:05", subject="fct_unit_profit",
                                feeds_investor=True)])
        assert rep.delivered[0] == (inc_id, "page", "primary_oncall", PEOPLE["SK"])
        inc = eng.store.get(inc_id)
        assert inc.severity == "sev1" and inc.status is Status.OPEN
        assert "severity_raised" in [e.event for e in eng.store.events(inc_id)]


def test_successful_retry_resolves_the_run_failure_incident(tmp_path, clock):
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        (inc_id,) = eng.report([_fail(run_id="root-1")]).opened
        clock.advance(minutes=4)
        assert eng.resolve_runs({"root-1"}, clock.now(), "retry succeeded").resolved == [inc_id]
        clock.advance(minutes=30)
        assert eng.advance().delivered == []
        assert eng.store.get(inc_id).resolution == "retry succeeded"


def test_ack_and_resolve_reject_unknown_or_closed_incidents(tmp_path, clock):
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        (inc_id,) = eng.report([_fail()]).opened
        eng.resolve(inc_id, by="me")
        with pytest.raises(ValueError, match="already resolved"):
            eng.ack(inc_id, by="me")
        with pytest.raises(KeyError, match="INC-99999"):
            eng.ack("INC-99999", by="me")


def test_ticks_match_the_plan_within_one_interval(tmp_path, clock):
    """Ticking every 30 s delivers each planned page within one tick of its due time."""
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        (inc_id,) = eng.report([_fail(pipeline="growth_agg", at="2026-03-07 02:00")]).opened
        end = clock.now() + timedelta(hours=7)
        while clock.now() < end:
            clock.advance(seconds=30)
            eng.advance()
        sent = [e for e in eng.store.events(inc_id) if e.event in ("page", "notify", "role")]
        assert [e.due_at for e in sent] == [p.at for p in eng.plan(eng.store.get(inc_id))]
        assert all(timedelta(0) <= e.at - e.due_at <= timedelta(seconds=30) for e in sent)
