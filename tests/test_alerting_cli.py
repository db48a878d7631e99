"""`metrics incidents list|show|ack|resolve` against a temporary warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from metrics_assets.alerting.clock import FakeClock
from metrics_assets.cli import build_parser
from metrics_core.alerting_model import Failure, FailureKind, Incident, Status, dedup_key
from metrics_core.paths import PROJECT_ROOT
from metrics_core.team import team_config
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
    assert out.splitlines()[0].endswith("seen  primary owner")  # a person owner: as written
    assert out.splitlines()[1].endswith("alex.mehta@metrics.example.com")
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


SEED = Path(__file__).parent / "fixtures" / "seed004"
FINANCE = "Finance Team (team:finance: Meera Iyer, Ravi Shah)"
DATA_ENG = "Data Engineering Team (team:data-engineering: Alex Mehta, Priya Rao, Chen Wu, Samir Kapoor)"


@pytest.fixture
def team_db(tmp_path, monkeypatch):
    """An open incident of seed 004's profit_agg (owners team:finance, team:data-engineering), read
    with seed 004's team.yaml."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    for name in ("pipelines.yaml", "team.yaml"):
        shutil.copy(SEED / name, config / name)
    monkeypatch.setenv("METRICS_CONFIG_DIR", str(config))
    team_config.cache_clear()
    at = ist("2026-03-07 02:00")
    path = tmp_path / "ops.sqlite"
    with IncidentStore.open(path) as store:
        key = dedup_key("profit_agg", FailureKind.RUN_FAILURE, None)
        store.insert(Incident(id="INC-00007", dedup_key=key, pipeline="profit_agg",
                              kind=FailureKind.RUN_FAILURE, partition=None,
                              severity="sev1", status=Status.OPEN, opened_at=at, page_start=at,
                              primary_owner="team:finance", secondary_owner="team:data-engineering"))
    yield path
    team_config.cache_clear()


def test_list_and_show_expand_a_team_owner(team_db, capsys):
    assert _cli(["incidents", "list", "--store", str(team_db)]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("INC-00007")]
    assert len(row) == 1 and row[0].endswith(f"1     {FINANCE}"), row
    assert _cli(["incidents", "show", "INC-00007", "--store", str(team_db)]) == 0
    assert f"  owners {FINANCE} (primary), {DATA_ENG} (incident commander)" in capsys.readouterr().out
