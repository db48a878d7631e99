"""Each real channel client against a local fake server, and secrets never leaking."""

from __future__ import annotations

import email
import email.policy
import logging

import pytest

from metrics_assets.alerting.clock import FakeClock
from metrics_assets.alerting.runtime import AlertRuntime
from metrics_core.alerting_model import Failure, FailureKind
from metrics_core.alerting_settings import (
    EmailSettings,
    PagerDutySettings,
    SlackSettings,
    load_alerting_settings,
)
from metrics_core.config import ConfigError
from resources.channels import EmailChannel, Message, PagerDutyChannel, SlackChannel, build_dispatcher
from resources.incident_store import IncidentStore
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import PEOPLE, ist
from tests.fakes.servers import FakePagerDuty, FakeSlack, FakeSMTP

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-SECRET-slack-123",
    "PAGERDUTY_ROUTING_KEY_SEV1": "R0UTINGKEY-SEV1-SECRET",
    "PAGERDUTY_ROUTING_KEY_SEV2": "R0UTINGKEY-SEV2-SECRET",
    "SMTP_USERNAME": "alerts-bot",
    "SMTP_PASSWORD": "smtp-PASSWORD-SECRET",
}
SECRET_VALUES = [v for k, v in SECRETS.items() if k != "SMTP_USERNAME"]


def _msg(**kw) -> Message:
    base = dict(incident_id="INC-00007", pipeline="profit_agg", kind="run_failure", severity="sev1",
                urgency="high", event="page", level="primary_oncall", recipient=PEOPLE["AM"],
                subject="PAGE INC-00007 Profit, aggregate: run failure on agg_profit_daily",
                body="runbook: runbooks/profit_agg.md", at=ist("2026-03-07 02:00"))
    return Message(**{**base, **kw})


def test_slack_channel_posts_to_the_pipeline_channel():
    with FakeSlack() as slack:
        cfg = SlackSettings(base_url=slack.base_url, token_env="SLACK_BOT_TOKEN", default_channel="#alerts",
                            channel_by_pipeline={"profit_agg": "#profit-investors"})
        SlackChannel(cfg, SECRETS).send(_msg())
        SlackChannel(cfg, SECRETS).send(_msg(pipeline="growth_daily"))
    first, second = slack.requests
    assert first.path == "/api/chat.postMessage"
    assert first.headers["Authorization"] == "Bearer " + SECRETS["SLACK_BOT_TOKEN"]
    assert first.body["channel"] == "#profit-investors" and second.body["channel"] == "#alerts"
    assert PEOPLE["AM"] in first.body["text"] and "INC-00007" in first.body["text"]


def test_pagerduty_channel_triggers_acks_and_resolves_with_the_incident_dedup_key():
    with FakePagerDuty() as pd:
        cfg = PagerDutySettings(base_url=pd.enqueue_url,
                                routing_key_env={"sev1": "PAGERDUTY_ROUTING_KEY_SEV1",
                                                 "sev2": "PAGERDUTY_ROUTING_KEY_SEV2",
                                                 "notice": "PAGERDUTY_ROUTING_KEY_SEV2"})
        ch = PagerDutyChannel(cfg, SECRETS)
        ch.send(_msg())
        ch.send(_msg(event="notify", level="primary_owner"))  # information is not a PagerDuty event
        ch.send(_msg(event="acknowledge"))
        ch.send(_msg(event="resolve"))
        ch.send(_msg(incident_id="INC-00008", severity="sev2", pipeline="growth_daily"))
    bodies = [r.body for r in pd.requests]
    assert [r.path.rstrip("/") for r in pd.requests] == ["/v2/enqueue"] * 4  # pypd appends "/"
    assert [(b["event_action"], b["dedup_key"]) for b in bodies] == [
        ("trigger", "INC-00007"), ("acknowledge", "INC-00007"), ("resolve", "INC-00007"),
        ("trigger", "INC-00008")]
    assert bodies[0]["routing_key"] == SECRETS["PAGERDUTY_ROUTING_KEY_SEV1"]
    assert bodies[3]["routing_key"] == SECRETS["PAGERDUTY_ROUTING_KEY_SEV2"]
    assert bodies[0]["payload"]["severity"] == "critical" and bodies[3]["payload"]["severity"] == "warning"
    assert bodies[0]["payload"]["component"] == "profit_agg"
    assert bodies[0]["payload"]["custom_details"]["recipient"] == PEOPLE["AM"]


def test_email_channel_sends_over_smtp_with_login_from_env():
    with FakeSMTP() as smtp:
        cfg = EmailSettings(host="127.0.0.1", port=smtp.port, username_env="SMTP_USERNAME",
                            password_env="SMTP_PASSWORD", sender="alerts@metrics.example.com")
        EmailChannel(cfg, SECRETS).send(_msg())
    (mail,) = smtp.messages
    assert mail.mail_from == "alerts@metrics.example.com" and mail.rcpt_to == [PEOPLE["AM"]]
    parsed = email.message_from_string(mail.data, policy=email.policy.default)
    assert str(parsed["Subject"]).strip().startswith("[sev1] PAGE INC-00007") and parsed["To"] == PEOPLE["AM"]
    assert "runbooks/profit_agg.md" in parsed.get_payload()
    assert mail.auth == ("alerts-bot", SECRETS["SMTP_PASSWORD"])


def test_missing_secret_names_the_env_var_and_alerts_fall_back_to_the_outbox(tmp_path, caplog):
    settings = load_alerting_settings().with_channels(enabled=("slack",))
    db = tmp_path / "ops.sqlite"
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"), IncidentStore.open(db) as store:
        build_dispatcher(settings, store, env={})
    rt = AlertRuntime(store_path=lambda: tmp_path / "ops.sqlite", settings=lambda: settings, env={})
    with caplog.at_level(logging.ERROR), rt.engine() as eng:
        assert eng.dispatcher.names == ["outbox"]
    assert "SLACK_BOT_TOKEN" in caplog.text


def _all_channels(slack, pd, smtp, *, pd_escalates: bool):
    base = load_alerting_settings()
    return base.with_channels(
        enabled=("outbox", "slack", "pagerduty", "email"),
        slack=base.channels.slack.model_copy(update={"base_url": slack.base_url}),
        pagerduty=base.channels.pagerduty.model_copy(
            update={"base_url": pd.enqueue_url, "handles_escalation": pd_escalates}),
        email=base.channels.email.model_copy(update={"host": "127.0.0.1", "port": smtp.port}),
    )


@pytest.mark.parametrize("pd_escalates", [True, False])
def test_engine_delivers_on_every_channel_and_secrets_never_leak(tmp_path, caplog, pd_escalates):
    clock = FakeClock(ist("2026-03-07 02:00"))
    with FakeSlack() as slack, FakePagerDuty() as pd, FakeSMTP() as smtp, caplog.at_level(logging.DEBUG):
        settings = _all_channels(slack, pd, smtp, pd_escalates=pd_escalates)
        with engine_for_test(tmp_path / "ops.sqlite", clock, settings=settings, env=SECRETS) as eng:
            failure = Failure("growth_agg", FailureKind.RUN_FAILURE, "agg_growth", clock.now())
            (inc_id,) = eng.report([failure]).opened
            clock.advance(minutes=11)
            eng.advance()
            slack.fail_with = (500, '{"ok": false, "error": "bad token ' + SECRETS["SLACK_BOT_TOKEN"] + '"}')
            clock.advance(minutes=1)
            eng.ack(inc_id, by=PEOPLE["PR"])
            store = eng.store
            events, outbox = store.events(), store.outbox()
            incidents = store.list(status="all")

    pd_actions = [r.body["event_action"] for r in pd.requests]
    if pd_escalates:  # PagerDuty runs the ladder: we only trigger, and never page the backup ourselves
        assert pd_actions == ["trigger", "acknowledge"]
        assert [(e.event, e.level) for e in events if e.event == "page"] == [("page", "primary_oncall")]
    else:
        assert pd_actions == ["trigger", "trigger", "acknowledge"]
        assert {r.body["dedup_key"] for r in pd.requests} == {inc_id}
        assert [(e.event, e.level) for e in events if e.event == "page"] == [
            ("page", "primary_oncall"), ("page", "backup_oncall")]
    assert {m.rcpt_to[0] for m in smtp.messages} >= {PEOPLE["AM"], PEOPLE["CW"]}
    assert len(slack.requests) >= 3
    page = next(e for e in events if e.event == "page")
    assert page.channel == "outbox,slack,pagerduty,email"
    failed = [e for e in events if e.event == "delivery_failed"]
    assert failed and failed[0].channel == "slack" and "***" in failed[0].detail

    stored = " ".join(
        [repr(e) for e in events] + [repr(o) for o in outbox] + [repr(i) for i in incidents]
        + [str(m.data) for m in smtp.messages] + [str(r.body.get("text")) for r in slack.requests]
        + [str(r.body.get("payload")) for r in pd.requests]
    )
    for secret in SECRET_VALUES:
        assert secret not in stored, "secret in the store, outbox or message content"
        assert secret not in caplog.text, "secret in the logs"
