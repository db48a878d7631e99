"""A schedule that never runs out (issue 12 item 4): extended ahead by ISO years, warned when short,
and an instant outside it pages the platform lead with a schedule-missing incident."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from metrics_assets.oncall.assets import build_oncall_assets
from metrics_assets.oncall.horizon import extend_ahead, horizon_status, published
from metrics_assets.oncall.lookup import OnCallLookup
from metrics_assets.oncall.schedule import Schedule
from metrics_core.config import ConfigError
from metrics_core.team import load_team_config

IST = ZoneInfo("Asia/Kolkata")
END_2027 = datetime(2028, 1, 3, 9, tzinfo=IST)  # the last published block ends here


def test_the_horizon_is_measured_from_the_injected_clock(cfg: Path) -> None:
    team = load_team_config(cfg / "team.yaml")
    far = horizon_status(team, END_2027 - timedelta(weeks=20))
    near = horizon_status(team, END_2027 - timedelta(weeks=3))
    assert far.end == END_2027 and round(far.weeks_left) == 20 and not far.short
    assert round(near.weeks_left) == 3 and near.short and "warn below 4" in near.describe()
    assert horizon_status(team, END_2027 + timedelta(days=1)).weeks_left == 0


def test_extend_ahead_publishes_the_next_year_only_when_needed(cfg: Path) -> None:
    team = load_team_config(cfg / "team.yaml")
    assert extend_ahead(team, END_2027 - timedelta(weeks=13)) == []  # 13 > 12 weeks left: nothing to do
    assert sorted(published(cfg / "oncall")) == [2026, 2027]
    written = extend_ahead(team, END_2027 - timedelta(weeks=11))
    assert [p.name for p in written] == ["schedule-2028.json"]
    lookup = OnCallLookup.from_config()  # the three years tile without a gap or an overlap
    nxt = Schedule.load(written[0])
    assert nxt.start == END_2027 and lookup.end == nxt.end
    assert lookup.who(END_2027 + timedelta(days=3)).primary  # the instant past the old horizon is covered
    assert extend_ahead(team, END_2027 - timedelta(weeks=11)) == []  # idempotent


def test_the_horizon_check_warns_below_four_weeks_and_is_quiet_above(cfg: Path) -> None:
    team = load_team_config(cfg / "team.yaml")
    for weeks_left, passed in ((30, True), (3, False)):
        oncall = build_oncall_assets(team, clock=lambda w=weeks_left: END_2027 - timedelta(weeks=w))
        res = oncall.check()
        assert res.passed is passed and res.severity is dg.AssetCheckSeverity.WARN
        assert res.metadata["weeks_left"].value == pytest.approx(weeks_left, abs=0.1)


def test_the_daily_schedule_extends_the_rotation(cfg: Path) -> None:
    team = load_team_config(cfg / "team.yaml")
    oncall = build_oncall_assets(team, clock=lambda: END_2027 - timedelta(weeks=6))
    assert oncall.schedule.job_name == "oncall_keep_ahead" and oncall.schedule.cron_schedule == "30 3 * * *"
    result = dg.materialize([oncall.asset], selection=[oncall.asset.key])
    assert result.success
    assert sorted(published(cfg / "oncall")) == [2026, 2027, 2028]
    mat = result.asset_materializations_for_node("ops__oncall_schedule")[0]
    assert mat.metadata["extended"].value == ["schedule-2028.json"]


def test_keep_ahead_below_warn_is_refused_naming_the_key(cfg: Path) -> None:
    path = cfg / "team.yaml"
    path.write_text(path.read_text().replace("keep_ahead_weeks: 12", "keep_ahead_weeks: 2"))
    with pytest.raises(ConfigError, match="rotation.*warn_ahead_weeks 4 is above keep_ahead_weeks 2"):
        load_team_config(path)


def test_an_instant_past_the_horizon_pages_the_platform_lead_with_a_schedule_missing_incident(tmp_path):
    """Golden scenario: before, who() raised inside the sensor and nobody was paged."""
    from metrics_assets.alerting.clock import FakeClock
    from metrics_assets.oncall.horizon import PLATFORM_PIPELINE
    from metrics_core.alerting_model import Failure, FailureKind, Status
    from tests.fakes.alerting import engine_for_test
    from tests.fakes.oncall import PEOPLE, FakeLookup, ist

    past = ist("2026-04-20 02:00")  # the fake roster ends 2026-04-06 09:00
    clock = FakeClock(past)
    with engine_for_test(tmp_path / "ops.sqlite", clock) as eng:
        rep = eng.report([Failure("profit_agg", FailureKind.RUN_FAILURE, "fct_profit_daily", past,
                                  partition="2026-04-19", run_id="r1")])
        incs = {i.kind: i for i in eng.store.open_incidents()}
        assert set(incs) == {FailureKind.RUN_FAILURE, FailureKind.SCHEDULE_MISSING}
        gap = incs[FailureKind.SCHEDULE_MISSING]
        assert gap.pipeline == PLATFORM_PIPELINE and gap.severity == "sev1" and len(rep.opened) == 2
        to = {(i, lvl, who) for i, _a, lvl, who in rep.delivered}
        assert (incs[FailureKind.RUN_FAILURE].id, "primary_oncall", PEOPLE["PL"]) in to  # still paged
        assert (gap.id, "primary_oncall", PEOPLE["PL"]) in to
        clock.advance(minutes=1)
        eng.report([Failure("growth_agg", FailureKind.RUN_FAILURE, "fct_x", clock.now(), run_id="r2")])
        eng.advance()
        assert sum(i.kind is FailureKind.SCHEDULE_MISSING for i in eng.store.list("all")) == 1  # one only
        eng.lookup.inner = _Covering(FakeLookup())  # a schedule covering the present is published
        eng.advance()
        assert eng.store.get(gap.id).status is Status.RESOLVED


class _Covering:
    """The fake roster, repeated forever (a published schedule that covers every instant)."""

    def __init__(self, inner):
        self.inner, self.start = inner, inner.start

    def who(self, at):
        from tests.fakes.oncall import WEEKS

        weeks = (at - self.start) // timedelta(weeks=1)
        return self.inner.who(at - timedelta(weeks=(weeks // len(WEEKS)) * len(WEEKS)))
