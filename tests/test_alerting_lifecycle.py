"""The incident lifecycle (issue 12 item 5): RCAs due in business days, silences, the handoff report."""

from __future__ import annotations

from datetime import timedelta

import pytest

from metrics_assets.alerting.clock import FakeClock
from metrics_core.alerting_model import Failure, FailureKind
from metrics_core.config import ConfigError
from metrics_core.lifecycle import rca_due
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import PEOPLE, FakeCalendar, ist


def _fail(pipeline="profit_agg", subject="fct_profit_daily", at=None, kind=FailureKind.RUN_FAILURE, run="r1"):
    return Failure(pipeline, kind, subject, at, partition="2026-03-05", run_id=run, launch=run)


@pytest.mark.parametrize(("resolved", "due"), [
    ("2026-03-06 12:00", "2026-03-16 09:00"),  # Fri: Mon 9 .. Fri 13 are the five days
    ("2026-03-24 12:00", "2026-04-03 09:00"),  # the 26th and 31st are holidays: they do not count
    ("2026-03-07 03:00", "2026-03-16 09:00"),  # a Saturday: the count starts Monday
])
def test_an_rca_is_due_after_five_business_days_of_the_team_calendar(resolved, due):
    assert rca_due(ist(resolved), 5, FakeCalendar()) == ist(due)


def test_investor_incident_owes_an_rca_overdue_is_notified_once_and_recording_it_closes_it(tmp_path):
    clock = FakeClock(ist("2026-03-06 10:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        eng.report([_fail(at=clock.now())])
        (inc,) = eng.store.open_incidents()
        clock.advance(hours=2)
        eng.resolve(inc.id, by=PEOPLE["AM"], reason="reran")
        rca = eng.lifecycle.store.rca(inc.id)
        assert rca.due_at == ist("2026-03-16 09:00") and rca.done_at is None
        clock.current = ist("2026-03-16 08:59")
        assert not [d for d in eng.advance().delivered if d[2] == "rca_overdue"]
        clock.current = ist("2026-03-16 09:05")
        sent = [d for d in eng.advance().delivered if d[2] == "rca_overdue"]
        assert {d[3] for d in sent} == {inc.primary_owner, PEOPLE["EM"]}  # the owner and the manager
        assert not [d for d in eng.advance().delivered if d[2] == "rca_overdue"]  # once
        with pytest.raises(ConfigError, match="not a URL"):
            eng.lifecycle.complete_rca(inc.id, "rca.md", by=PEOPLE["AM"])
        eng.lifecycle.complete_rca(inc.id, "https://docs.example.com/rca/1", by=PEOPLE["AM"])
        assert eng.lifecycle.store.rcas(pending=True) == []
        assert "rca" in [e.event for e in eng.store.events(inc.id)]


def test_an_experiment_incident_owes_no_rca(tmp_path):
    clock = FakeClock(ist("2026-03-06 10:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        eng.report([_fail(pipeline="profit_unit", subject="fct_order_profit", at=clock.now())])
        (inc,) = eng.store.open_incidents()
        assert inc.severity == "sev2"
        eng.resolve(inc.id, by=PEOPLE["PR"])
        assert eng.lifecycle.store.rca(inc.id) is None
        with pytest.raises(ConfigError, match="owes no RCA"):
            eng.lifecycle.complete_rca(inc.id, "https://x.example.com/1", by=PEOPLE["PR"])


def test_a_silence_suppresses_and_records_then_expires_by_itself(tmp_path):
    clock = FakeClock(ist("2026-03-06 10:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        s = eng.lifecycle.silence(pipeline="profit_agg", check=None, until=clock.now() + timedelta(hours=2),
                                  reason="vendor outage, ticket OPS-12", by=PEOPLE["AM"])
        rep = eng.report([_fail(at=clock.now())])
        assert rep.opened == [] and rep.delivered == [] and eng.store.open_incidents() == []
        assert eng.lifecycle.store.silenced_counts() == {s.id: 1}
        other = eng.report([_fail(pipeline="growth_agg", subject="fct_growth", at=clock.now(), run="r2")])
        assert len(other.opened) == 1  # another pipeline is not silenced
        clock.advance(hours=2, minutes=1)
        assert len(eng.report([_fail(at=clock.now(), run="r3")]).opened) == 1  # expired: pages again


def test_a_check_silence_covers_only_that_check(tmp_path):
    clock = FakeClock(ist("2026-03-06 10:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        eng.lifecycle.silence(pipeline="profit_agg", check="row_count_in_band",
                              until=clock.now() + timedelta(days=1), reason="known seasonal dip", by="am")
        err = FailureKind.CHECK_ERROR
        hits = [_fail(subject="fct_profit_daily:row_count_in_band", at=clock.now(), kind=err),
                _fail(subject="fct_profit_daily:unique_day", at=clock.now(), kind=err)]
        eng.report(hits)
        (inc,) = eng.store.open_incidents()
        assert inc.subjects == ["fct_profit_daily:unique_day"]


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"pipeline": "profit_aggg"}, "unknown pipeline id 'profit_aggg'"),
    ({"until_h": -1}, "is not after now"),
    ({"until_h": 24 * 15}, "lifecycle.max_silence_days"),
    ({"reason": " "}, "needs --reason and --by"),
])
def test_a_bad_silence_is_refused_naming_what_is_wrong(tmp_path, kwargs, needle):
    clock = FakeClock(ist("2026-03-06 10:00"))
    args = {"pipeline": "profit_agg", "check": None, "reason": "why", "by": "am", **kwargs}
    until = clock.now() + timedelta(hours=args.pop("until_h", 2))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng, pytest.raises(ConfigError, match=needle):
        eng.lifecycle.silence(until=until, **args)


def test_the_handoff_report_is_sent_once_at_the_block_start_with_everything_open(tmp_path):
    clock = FakeClock(ist("2026-03-06 10:00"))
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        eng.report([_fail(at=clock.now())])  # stays open across the handoff
        eng.report([_fail(pipeline="growth_agg", subject="fct_growth", at=clock.now(), run="r2")])
        done = [i for i in eng.store.open_incidents() if i.pipeline == "growth_agg"][0]
        eng.resolve(done.id, by=PEOPLE["CW"])  # owes an RCA
        eng.lifecycle.silence(pipeline="engagement_agg", check=None, until=ist("2026-03-10 10:00"),
                              reason="migration", by=PEOPLE["SK"])
        clock.current = ist("2026-03-09 09:01")  # the block of SK (primary) and CW starts at 09:00
        sent = [d for d in eng.advance().delivered if d[2] == "handoff_report"]
        assert sent == [("HANDOFF-2026-03-09", "notify", "handoff_report", PEOPLE["SK"])]
        clock.advance(minutes=30)
        assert not [d for d in eng.advance().delivered if d[2] == "handoff_report"]
        (msg,) = [o for o in eng.store.outbox("HANDOFF-2026-03-09")]
        body = msg.body
        assert "incoming Primary samir.kapoor" in body and "Open incidents (1)" in body
        assert "Silences (1)" in body and "migration" in body
        assert f"RCAs pending (1):\n  {done.id}" in body
        assert "pages" in body and "[primary_oncall]" in body


def test_cli_silence_rca_and_handoff(tmp_path, capsys):
    from metrics_assets.cli import main

    store = str(tmp_path / "ops.sqlite")
    at = "2026-03-06T10:00+05:30"
    assert main(["incidents", "silence", "--pipeline", "profit_agg", "--until", "2026-03-06T12:00+05:30",
                 "--reason", "vendor outage", "--by", "am@x.com", "--at", at, "--store", store]) == 0
    assert "SIL-0001: profit_agg silenced until" in capsys.readouterr().out
    assert main(["incidents", "silences", "--at", at, "--store", store]) == 0
    assert "SIL-0001" in capsys.readouterr().out
    assert main(["incidents", "silence", "--pipeline", "nope", "--until", "2026-03-06T12:00+05:30",
                 "--reason", "x", "--by", "y", "--at", at, "--store", store]) == 2
    assert "unknown pipeline id 'nope'" in capsys.readouterr().err
    rca = ["incidents", "rca", "INC-00001", "--doc", "https://d/1", "--by", "am", "--store", store]
    assert main(rca) == 2
    assert "owes no RCA" in capsys.readouterr().err
    assert main(["oncall", "handoff", "--at", "2026-03-09T10:00+05:30", "--store", store]) == 0
    out = capsys.readouterr().out
    assert out.startswith("On-call handoff 2026-03-09 09:00") and "Silences (0)" in out
