"""Status updates: investor incidents post to the status channel (#investor-kpis) on open and resolve."""

from __future__ import annotations

from metrics_assets.alerting.clock import FakeClock
from metrics_core.alerting_model import Failure, FailureKind, Recovery
from metrics_core.alerting_settings import load_alerting_settings
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import ist
from tests.fakes.servers import FakeSlack

STATUS = "#investor-kpis"


def _fail(pipeline: str, kind=FailureKind.RUN_FAILURE, subject="investor/profit_daily", at="2026-03-07 02:00",
          partition="2026-03-06") -> Failure:
    return Failure(pipeline=pipeline, kind=kind, subject=subject, at=ist(at), partition=partition)


def _status_rows(eng, inc_id):
    return [o for o in eng.store.outbox(inc_id) if o.action == "status"]


def test_an_investor_incident_posts_status_on_open_and_on_resolve(tmp_path):
    clock = FakeClock(ist("2026-03-07 02:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        (inc_id,) = eng.report([_fail("profit_agg")]).opened
        opened = _status_rows(eng, inc_id)
        assert [o.recipient for o in opened] == [STATUS]
        assert opened[0].subject.startswith(f"STATUS investigating: {inc_id}")
        assert "2026-03-06" in opened[0].body and "runbooks/profit_agg.md" in opened[0].body
        clock.advance(minutes=40)
        eng.resolve(inc_id, by="someone@example.com", reason="reran")
        rows = _status_rows(eng, inc_id)
        assert [o.subject.split(":")[0] for o in rows] == ["STATUS investigating", "STATUS resolved"]
        assert "reran" in rows[1].body
        assert [e.event for e in eng.store.events(inc_id)].count("status") == 2


def test_sla_at_risk_posts_status_and_its_publication_resolves_it(tmp_path):
    clock = FakeClock(ist("2026-03-07 08:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        at_risk = _fail("profit_agg", FailureKind.SLA_AT_RISK, at="2026-03-07 08:00")
        (inc_id,) = eng.report([at_risk]).opened
        assert len(_status_rows(eng, inc_id)) == 1
        clock.advance(minutes=20)
        eng.recover([Recovery("profit_agg", FailureKind.SLA_AT_RISK, "investor/profit_daily", clock.now(),
                              "2026-03-06")])
        assert [o.subject.split(":")[0] for o in _status_rows(eng, inc_id)] == [
            "STATUS investigating", "STATUS resolved"]


def test_experiment_incidents_and_warn_notices_post_no_status(tmp_path):
    clock = FakeClock(ist("2026-03-10 14:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        rep = eng.report([
            _fail("profit_unit", subject="fct_order_profit", at="2026-03-10 14:00"),
            _fail("profit_agg", FailureKind.CHECK_WARN, subject="investor/profit_daily:gate",
                  at="2026-03-10 14:00"),
        ])
        assert len(rep.opened) == 2
        assert all(not _status_rows(eng, i) for i in rep.opened)


def test_status_channel_can_be_turned_off(tmp_path):
    settings = load_alerting_settings().model_copy(update={"status_channel": None})
    clock = FakeClock(ist("2026-03-07 02:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock, settings=settings) as eng:
        (inc_id,) = eng.report([_fail("profit_agg")]).opened
        assert not _status_rows(eng, inc_id)


def test_with_slack_enabled_the_status_goes_to_the_status_channel(tmp_path):
    with FakeSlack() as slack:
        base = load_alerting_settings()
        settings = base.with_channels(
            enabled=("outbox", "slack"),
            slack=base.channels.slack.model_copy(update={"base_url": slack.base_url}))
        env = {"SLACK_BOT_TOKEN": "xoxb-test"}
        with engine_for_test(tmp_path / "ops.sqlite", FakeClock(ist("2026-03-07 02:00")), settings=settings,
                             env=env) as eng:
            eng.report([_fail("profit_agg")])
        posted = [r.body for r in slack.requests if "STATUS investigating" in str(r.body.get("text", ""))]
        assert [p.get("channel") for p in posted] == [STATUS]
