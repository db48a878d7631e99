"""`metrics incidents list|show|ack|resolve` against a temporary warehouse."""

from __future__ import annotations

import pytest

from metrics_assets.alerting.clock import FakeClock
from metrics_assets.cli import build_parser
from metrics_core.alerting_model import Failure, FailureKind
from resources.incident_store import IncidentStore
from tests.fakes.alerting import engine_for_test
from tests.fakes.oncall import ist


def _cli(argv):
    args = build_parser(argv[0]).parse_args(argv)
    return args.func(args)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "ops.sqlite"
    clock = FakeClock(ist("2026-03-07 02:00"))
    with engine_for_test(path, clock) as eng:
        eng.report([Failure("profit_agg", FailureKind.RUN_FAILURE, "agg_profit_daily", clock.now(),
                            partition="2026-03-06")])
    return path


def test_list_show_ack_resolve(db, capsys):
    assert _cli(["incidents", "list", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert "INC-00001" in out and "profit_agg" in out and "run_failure" in out
    am = "alex.mehta@metrics.example.com"
    assert _cli(["incidents", "ack", "INC-00001", "--by", am, "--store", str(db)]) == 0
    assert _cli(["incidents", "resolve", "INC-00001", "--by", "alex.mehta@metrics.example.com",
                 "--reason", "reran after fix", "--store", str(db)]) == 0
    capsys.readouterr()
    assert _cli(["incidents", "show", "INC-00001", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    for text in ("opened", "page [primary_oncall] -> alex.mehta", "ack", "resolve", "reran after fix"):
        assert text in out
    assert _cli(["incidents", "list", "--store", str(db)]) == 0
    assert "no incidents" in capsys.readouterr().out
    with IncidentStore.open(db) as store:
        events = [e.event for e in store.events("INC-00001")]
        # investor: status updates, and an RCA owed
        assert events == ["opened", "status", "page", "ack", "resolve", "rca_due", "status"]
        actions = [o.action for o in store.outbox("INC-00001")]
        assert actions == ["status", "page", "acknowledge", "resolve", "status"]


def test_errors_are_reported_not_raised(db, capsys):
    assert _cli(["incidents", "ack", "INC-00042", "--by", "x@example.com", "--store", str(db)]) == 2
    assert "no incident 'INC-00042'" in capsys.readouterr().err
    _cli(["incidents", "resolve", "INC-00001", "--by", "x@example.com", "--store", str(db)])
    assert _cli(["incidents", "ack", "INC-00001", "--by", "x@example.com", "--store", str(db)]) == 2
    assert "already resolved" in capsys.readouterr().err
    assert _cli(["incidents", "show", "INC-00042", "--store", str(db)]) == 2
