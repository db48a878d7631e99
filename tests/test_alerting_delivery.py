"""Delivery that never drops a page (issue 12 item 2): retries with backoff, a pending delivery the
next escalation tick retries, idempotency per message key and channel, a page delivered only when
its paging channel took it, a failing channel's own alert, and the richer e-mail, PagerDuty and
Slack messages. Every server is a local fake on 127.0.0.1; every time comes from a FakeClock."""

from __future__ import annotations

import email
import email.policy
from email.utils import formatdate

import pytest

from metrics_assets.alerting.clock import FakeClock
from metrics_assets.cli import build_parser
from metrics_core.alerting_model import Failure, FailureKind
from metrics_core.alerting_settings import (
    EmailSettings,
    PagerDutySettings,
    RetrySettings,
    SlackSettings,
    load_alerting_settings,
)
from resources import channels
from resources.channels import EmailChannel, Message, PagerDutyChannel, SlackChannel
from resources.incident_store import IncidentStore
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import PEOPLE, ist
from tests.fakes.servers import FakePagerDuty, FakeSlack, FakeSMTP, Scripted

ENV = {
    "SLACK_BOT_TOKEN": "xoxb-SECRET-slack-123",
    "PAGERDUTY_ROUTING_KEY_SEV1": "R0UTINGKEY-SEV1-SECRET",
    "PAGERDUTY_ROUTING_KEY_SEV2": "R0UTINGKEY-SEV2-SECRET",
}
T0 = ist("2026-03-07 02:00")
FAST = RetrySettings(attempts=3, backoff_seconds=0.05, max_backoff_seconds=2,
                     pending_max_backoff_seconds=60, give_up_after_attempts=8)


def _settings(slack=None, pd=None, *, enabled=("outbox", "slack", "pagerduty"), retry=FAST, **pd_changes):
    base = load_alerting_settings()
    changes: dict = {"enabled": enabled, "retry": retry}
    if slack is not None:
        changes["slack"] = base.channels.slack.model_copy(update={"base_url": slack.base_url,
                                                                   "timeout_seconds": 0.3})
    if pd is not None:
        changes["pagerduty"] = base.channels.pagerduty.model_copy(
            update={"base_url": pd.enqueue_url, "timeout_seconds": 0.3, **pd_changes})
    return base.with_channels(**changes)


@pytest.fixture
def sleeps(monkeypatch):
    """Backoff waits are recorded, not slept (the in-call retries are still real HTTP calls)."""
    waits: list[float] = []
    monkeypatch.setattr(channels, "backoff_sleep", waits.append)
    return waits


def _engine(tmp_path, clock, settings):
    return engine_for_test(tmp_path / "ops.sqlite", clock, settings=settings, env=ENV)


def _page(eng, pipeline="growth_agg", subject="agg_growth", run_id=None):
    (inc_id,) = eng.report([Failure(pipeline, FailureKind.RUN_FAILURE, subject, eng.clock.now(),
                                    run_id=run_id)]).opened
    return inc_id


def _events(store, inc_id, event):
    return [e for e in store.events(inc_id) if e.event == event]


def _pd_rows(store, inc_id):
    return [r for r in store.deliveries(inc_id) if r["channel"] == "pagerduty"]


# -- retries ------------------------------------------------------------------------------------
def test_a_500_then_a_200_from_pagerduty(tmp_path, sleeps):
    """The golden scenario: PagerDuty answers 500, the in-call retry gets 202; the page is
    delivered once, on every channel, and counts as paged."""
    clock = FakeClock(T0)
    with FakePagerDuty() as pd:
        pd.script = [Scripted(500, {"status": "error"})]
        with _engine(tmp_path, clock, _settings(pd=pd, enabled=("outbox", "pagerduty"))) as eng:
            inc_id = _page(eng)
            store = eng.store
            (page,) = _events(store, inc_id, "page")
            (row,) = _pd_rows(store, inc_id)
            assert not _events(store, inc_id, "page_pending")
            assert not _events(store, inc_id, "delivery_failed")
            clock.advance(minutes=1)
            eng.advance()  # nothing pending: nothing sent again
            outbox = [o for o in store.outbox(inc_id) if o.action == "page"]
    assert [r.body["event_action"] for r in pd.requests] == ["trigger", "trigger"]
    assert {r.body["dedup_key"] for r in pd.requests} == {inc_id}
    assert page.channel == "outbox,pagerduty" and page.level == "primary_oncall"
    assert row["status"] == "delivered" and row["attempts"] == 2 and row["delivered_at"] == T0
    assert sleeps == [FAST.backoff_seconds]
    assert len(outbox) == 1


def test_a_page_pagerduty_keeps_refusing_stays_pending_until_the_next_tick_delivers_it(
        tmp_path, sleeps, capsys):
    clock = FakeClock(T0)
    db = tmp_path / "ops.sqlite"
    with FakePagerDuty() as pd, FakeSlack() as slack:
        pd.script = [Scripted(503, {"status": "unavailable"})] * 3  # every in-call attempt of the tick
        with _engine(tmp_path, clock, _settings(slack, pd)) as eng:
            inc_id = _page(eng)
            store = eng.store
            assert not _events(store, inc_id, "page")  # the outbox and Slack took it; PagerDuty did not
            (pending,) = _events(store, inc_id, "page_pending")
            (failed,) = _events(store, inc_id, "delivery_failed")
            assert (store.delivered_keys(inc_id) & {("primary_oncall", PEOPLE["AM"], "page")}) == set()
            (row,) = _pd_rows(store, inc_id)
            assert row["status"] == "pending" and row["attempts"] == 3
            assert row["next_attempt_at"] > T0

            clock.advance(seconds=30)  # the next escalation tick
            rep = eng.advance()
            (page,) = _events(store, inc_id, "page")
            clock.advance(seconds=30)
            eng.advance()  # delivered: never sent again
            (row,) = _pd_rows(store, inc_id)
            outbox_pages = [o for o in store.outbox(inc_id) if o.action == "page"]
    slack_pages = [r for r in slack.requests if r.body["text"].startswith("[sev1 page")]
    assert pending.channel == "outbox,slack" and "not yet accepted by pagerduty" in pending.detail
    assert failed.channel == "pagerduty" and "HTTP 503" in failed.detail and "pending" in failed.detail
    assert rep.delivered == [(inc_id, "page", "primary_oncall", PEOPLE["AM"])]
    assert page.channel == "outbox,slack,pagerduty" and "on retry" in page.detail
    assert row["status"] == "delivered" and row["attempts"] == 4
    assert len(pd.requests) == 4 and len(outbox_pages) == 1 and len(slack_pages) == 1

    args = build_parser("incidents").parse_args(["incidents", "show", inc_id, "--store", str(db)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "page_pending [primary_oncall]" in out and "delivery_failed [primary_oncall]" in out
    assert "HTTP 503" in out and "delivered [primary_oncall]" in out
    assert ENV["PAGERDUTY_ROUTING_KEY_SEV1"] not in out


def test_a_429_is_retried_after_its_retry_after(tmp_path, sleeps):
    clock = FakeClock(T0)
    with FakePagerDuty() as pd:
        pd.script = [Scripted(429, {"status": "throttled"}, {"Retry-After": "1"})]
        with _engine(tmp_path, clock, _settings(pd=pd, enabled=("outbox", "pagerduty"))) as eng:
            first = _page(eng)
            assert _events(eng.store, first, "page")
            # a Retry-After too long to wait inside a tick: left pending until then, not hammered
            pd.script = [Scripted(429, {"status": "throttled"}, {"Retry-After": "120"})]
            second = _page(eng, "profit_agg", "agg_profit_daily")
            assert _events(eng.store, second, "page_pending")
            (row,) = _pd_rows(eng.store, second)
            assert row["status"] == "pending" and row["attempts"] == 1
            assert (row["next_attempt_at"] - T0).total_seconds() == 120
            clock.advance(seconds=60)
            eng.advance()
            assert len(pd.requests) == 3
            clock.advance(seconds=61)
            eng.advance()
            assert _events(eng.store, second, "page")
    assert sleeps == [1.0]  # honoured Retry-After (longer than the 0.05 s backoff)
    assert [r.body["dedup_key"] for r in pd.requests] == [first, first, second, second]


def test_a_timeout_then_a_200(tmp_path, sleeps):
    """Slack sleeps past the client timeout once (on the first post, the status update); the
    retry gets through and the page still counts (without PagerDuty, Slack is the paging channel).
    A timeout is at-least-once: the server may have taken the first try too."""
    clock = FakeClock(T0)
    with FakeSlack() as slack:
        slack.script = [Scripted(delay=1.0)]
        with _engine(tmp_path, clock, _settings(slack, enabled=("outbox", "slack"))) as eng:
            inc_id = _page(eng)
            (page,) = _events(eng.store, inc_id, "page")
            rows = [r for r in eng.store.deliveries(inc_id) if r["channel"] == "slack"]
    assert page.channel == "outbox,slack"
    assert [r["status"] for r in rows] == ["delivered"] * len(rows) and len(rows) >= 2
    assert sorted(r["attempts"] for r in rows)[-1] == 2 and sum(r["attempts"] for r in rows) == len(rows) + 1
    assert sleeps == [FAST.backoff_seconds]


def test_a_400_is_permanent_recorded_and_never_retried(tmp_path, sleeps):
    clock = FakeClock(T0)
    with FakePagerDuty() as pd:
        pd.script = [Scripted(400, {"status": "invalid event", "errors": ["bad routing key"]})]
        with _engine(tmp_path, clock, _settings(pd=pd, enabled=("outbox", "pagerduty"))) as eng:
            inc_id = _page(eng)
            for _ in range(3):
                clock.advance(minutes=5)
                eng.advance()
            store = eng.store
            (row,) = _pd_rows(store, inc_id)
            (failed,) = _events(store, inc_id, "delivery_failed")
            assert not _events(store, inc_id, "page")
            assert _events(store, inc_id, "page_pending")
    assert len(pd.requests) == 1 and sleeps == []
    assert row["status"] == "failed" and row["attempts"] == 1 and row["next_attempt_at"] is None
    assert "HTTP 400" in failed.detail and "permanent" in failed.detail


def test_an_ack_waits_for_its_pending_trigger_on_pagerduty(tmp_path, sleeps):
    clock = FakeClock(T0)
    with FakePagerDuty() as pd:
        pd.script = [Scripted(500)] * 3
        with _engine(tmp_path, clock, _settings(pd=pd, enabled=("outbox", "pagerduty"))) as eng:
            inc_id = _page(eng)
            clock.advance(minutes=2)
            eng.ack(inc_id, by=PEOPLE["AM"])
            assert len(pd.requests) == 3  # the ack did not overtake the trigger
            clock.advance(minutes=1)
            eng.advance()
    assert [r.body["event_action"] for r in pd.requests] == ["trigger"] * 4 + ["acknowledge"]


def test_the_same_message_key_is_never_delivered_twice(tmp_path):
    with FakePagerDuty() as pd, FakeSlack() as slack, IncidentStore.open(tmp_path / "ops.sqlite") as store:
        d = channels.build_dispatcher(_settings(slack, pd), store, env=ENV)
        msg = Message(incident_id="INC-00009", pipeline="profit_agg", kind="run_failure", severity="sev1",
                      urgency="high", event="page", level="primary_oncall", recipient=PEOPLE["AM"],
                      subject="PAGE INC-00009", body="b", at=T0)
        first = d.send(msg)
        again = d.send(msg)
        outbox = store.outbox("INC-00009")
    assert [x.state for x in first] == ["delivered"] * 3
    assert [x.state for x in again] == ["duplicate"] * 3 and not any(x.attempted for x in again)
    assert len(pd.requests) == 1 and len(slack.requests) == 1 and len(outbox) == 1
    assert msg.key == f"INC-00009|page|primary_oncall|{PEOPLE['AM']}"


# -- a failing channel -------------------------------------------------------------------------
def test_a_channel_failing_three_times_raises_one_alert_through_the_other_channels(tmp_path, sleeps):
    clock = FakeClock(T0)
    once = FAST.model_copy(update={"attempts": 1})
    with FakePagerDuty() as pd, FakeSlack() as slack:
        pd.fail_with = (500, '{"status": "down"}')
        with _engine(tmp_path, clock, _settings(slack, pd, retry=once)) as eng:
            store = eng.store
            ids = [_page(eng, "growth_agg", "agg_growth")]
            ids.append(_page(eng, "profit_agg", "agg_profit_daily"))
            assert not store.outbox("CHANNEL-pagerduty")
            ids.append(_page(eng, "engagement_agg", "agg_engagement_daily"))
            (alert,) = store.outbox("CHANNEL-pagerduty")
            for _ in range(3):  # still failing on the next ticks: no second alert
                clock.advance(minutes=2)
                eng.advance()
            assert len(store.outbox("CHANNEL-pagerduty")) == 1
            pd.fail_with = None
            clock.advance(minutes=2)
            eng.advance()
            recovered = store.outbox("CHANNEL-pagerduty")
            pages = [(i, _events(store, i, "page")) for i in ids]
    assert alert.recipient == PEOPLE["PL"] and alert.subject == "ALERT channel pagerduty failing"
    assert "3 failed deliveries in a row" in alert.body and "HTTP 500" in alert.body
    assert [o.subject for o in recovered] == ["ALERT channel pagerduty failing",
                                              "RECOVERED channel pagerduty delivering again"]
    slack_alerts = [r.body["text"] for r in slack.requests if "channel pagerduty" in r.body["text"]]
    assert len(slack_alerts) == 2 and PEOPLE["PL"] in slack_alerts[0]
    assert all(len(p) == 1 for _, p in pages), pages  # every page delivered once PagerDuty is back
    assert not any(r.body.get("dedup_key", "").startswith("CHANNEL") for r in pd.requests)


# -- what the messages carry -------------------------------------------------------------------
def _msg(**kw) -> Message:
    base = dict(incident_id="INC-00007", pipeline="profit_agg", kind="run_failure", severity="sev1",
                urgency="high", event="page", level="primary_oncall", recipient=PEOPLE["AM"],
                subject="PAGE INC-00007 Profit, aggregate: run failure", body="see the runbook",
                at=T0, runbook="https://git.example.com/metrics/blob/main/runbooks/profit_agg.md",
                run_id="9f1c2d3e-run")
    return Message(**{**base, **kw})


def test_email_has_date_and_message_id():
    with FakeSMTP() as smtp:
        cfg = EmailSettings(host="127.0.0.1", port=smtp.port,
                            sender="Metrics alerts <alerts@metrics.example.com>")
        EmailChannel(cfg, {}).send(_msg())
    (mail,) = smtp.messages
    parsed = email.message_from_string(mail.data, policy=email.policy.default)
    # formatdate(<message time>), re-rendered by the e-mail policy as +0000: the message time, not now
    assert formatdate(T0.timestamp(), usegmt=True).removesuffix(" GMT") in mail.data.split("\r\nDate: ")[1]
    assert parsed["Date"].datetime == T0
    msg_id = str(parsed["Message-ID"]).strip()  # folded onto its own line: long
    assert msg_id.startswith("<") and msg_id.endswith("@metrics.example.com>")
    assert "INC-00007" in msg_id


def test_pagerduty_trigger_has_links_timestamp_and_client():
    with FakePagerDuty() as pd:
        cfg = PagerDutySettings(base_url=pd.enqueue_url,
                                routing_key_env={"sev1": "PAGERDUTY_ROUTING_KEY_SEV1"})
        ch = PagerDutyChannel(cfg, ENV, dagster_url="http://dagster.example.com:3000/")
        ch.send(_msg())
        ch.send(_msg(event="resolve"))
    trigger, resolve = (r.body for r in pd.requests)
    assert trigger["client"] == "metrics-platform" and trigger["client_url"] == "http://dagster.example.com:3000"
    assert trigger["links"] == [
        {"href": "https://git.example.com/metrics/blob/main/runbooks/profit_agg.md", "text": "Runbook"},
        {"href": "http://dagster.example.com:3000/runs/9f1c2d3e-run", "text": "Dagster run 9f1c2d3e-run"},
    ]
    assert trigger["payload"]["timestamp"] == "2026-03-06T20:30:00+00:00"
    assert trigger["dedup_key"] == "INC-00007"
    assert resolve == {"routing_key": ENV["PAGERDUTY_ROUTING_KEY_SEV1"], "event_action": "resolve",
                       "dedup_key": "INC-00007"}


def test_the_engine_page_links_the_runbook_and_the_failed_run(tmp_path, sleeps):
    clock = FakeClock(T0)
    with FakePagerDuty() as pd:
        settings = _settings(pd=pd, enabled=("outbox", "pagerduty"))
        with _engine(tmp_path, clock, settings) as eng:
            _page(eng, run_id="abc-123")
    (trigger,) = (r.body for r in pd.requests)
    hrefs = [link["href"] for link in trigger["links"]]
    assert hrefs[0].endswith("growth_agg.md") and hrefs[1] == "http://127.0.0.1:3000/runs/abc-123"


def test_slack_mentions_the_user_looked_up_by_email_once_a_day(tmp_path):
    channels._SLACK_USERS.clear()
    db = tmp_path / "ops.sqlite"
    with FakeSlack(users={PEOPLE["AM"]: "U0ALEX"}) as slack, IncidentStore.open(db) as store:
        cfg = SlackSettings(base_url=slack.base_url, token_env="SLACK_BOT_TOKEN", default_channel="#alerts")
        SlackChannel(cfg, ENV, store).send(_msg())
        SlackChannel(cfg, ENV, store).send(_msg(at=ist("2026-03-07 20:00")))
        channels._SLACK_USERS.clear()  # a new process: the store still knows
        SlackChannel(cfg, ENV, store).send(_msg(at=ist("2026-03-07 21:00")))
        assert slack.lookups == [PEOPLE["AM"]]
        SlackChannel(cfg, ENV, store).send(_msg(at=ist("2026-03-08 02:30")))  # a day later: asked again
        SlackChannel(cfg, ENV, store).send(_msg(recipient=PEOPLE["PR"]))  # unknown to Slack
        SlackChannel(cfg, ENV, store).send(_msg(recipient=PEOPLE["PR"]))
    texts = [r.body["text"] for r in slack.requests]
    assert all("-> <@U0ALEX>]" in t for t in texts[:4])
    assert f"-> {PEOPLE['PR']}]" in texts[4] and f"-> {PEOPLE['PR']}]" in texts[5]
    assert slack.lookups == [PEOPLE["AM"], PEOPLE["AM"], PEOPLE["PR"]]
    assert all(r.headers["Authorization"] == "Bearer " + ENV["SLACK_BOT_TOKEN"] for r in slack.reads)


def test_a_delivery_that_keeps_failing_is_given_up_after_the_limit(tmp_path, sleeps):
    clock = FakeClock(T0)
    limit = FAST.model_copy(update={"give_up_after_attempts": 4})
    with FakePagerDuty() as pd:
        pd.fail_with = (502, '{"status": "bad gateway"}')
        with _engine(tmp_path, clock, _settings(pd=pd, enabled=("outbox", "pagerduty"), retry=limit)) as eng:
            inc_id = _page(eng)
            for _ in range(3):
                clock.advance(minutes=1)
                eng.advance()
            (row,) = _pd_rows(eng.store, inc_id)
            failed = _events(eng.store, inc_id, "delivery_failed")
    assert len(pd.requests) == 4 and row["status"] == "failed" and row["next_attempt_at"] is None
    assert "gave up after 4 attempts" in failed[-1].detail and len(failed) == 2
