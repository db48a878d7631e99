"""Team owners and the SLA shapes of shared/seeds/004 (tests/fixtures/seed004): the config loads and
builds the code location, assets carry `team:` owners and freshness policies of each shape, a team
owner is reached through its channel and escalation contact, runbooks name the teams; bad input is
refused naming the key; `metrics status --owner`, the dashboards and the incidents listing expand a
team owner to its name and members."""

import re
import shutil
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from metrics_assets.alerting.escalation import plan_pages
from metrics_assets.cli import build_parser
from metrics_assets.dashboards.build import build
from metrics_assets.definitions import build_definitions
from metrics_assets.oncall.ownership import ownership_loads, ownership_violations, validate_ownership
from metrics_assets.runbooks import load_failure_modes, render_block
from metrics_core.alerting_model import Action, FailureKind, Incident, Status, dedup_key
from metrics_core.alerting_settings import load_alerting_settings, roles_of
from metrics_core.config import (
    ConfigError,
    PipelineConfig,
    load_pipeline_config,
    pipeline_config,
    require_daily,
)
from metrics_core.owners import owner_display, owner_label, owner_refs_of, resolve_owner
from metrics_core.paths import PROJECT_ROOT
from metrics_core.team import load_team_config, team_config
from tests.fakes.oncall import FakeCalendar, FakeLookup, ist

SEED = Path(__file__).parent / "fixtures" / "seed004"
FINANCE_LEAD = "finance-lead@metrics.example.com"
FINANCE = "Finance Team (team:finance: Meera Iyer, Ravi Shah)"
DATA_SCIENCE = "Data Science Team (team:data-science: Nadia Rahman, Tomas Ortega)"
DATA_ENG = "Data Engineering Team (team:data-engineering: Alex Mehta, Priya Rao, Chen Wu, Samir Kapoor)"


@pytest.fixture
def seed_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's config with seed 004's pipelines.yaml and team.yaml, as METRICS_CONFIG_DIR."""
    out = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", out)
    for name in ("pipelines.yaml", "team.yaml"):
        shutil.copy(SEED / name, out / name)
    monkeypatch.setenv("METRICS_CONFIG_DIR", str(out))
    return out


def _seed():
    return load_pipeline_config(SEED / "pipelines.yaml"), load_team_config(SEED / "team.yaml")


def _node(defs: dg.Definitions, key: str):
    return defs.resolve_asset_graph().get(dg.AssetKey.from_user_string(key))


def test_the_seed004_config_loads_and_builds_the_code_location(seed_dir: Path) -> None:
    pipelines, team = load_pipeline_config(), load_team_config()  # from METRICS_CONFIG_DIR
    assert sorted(team.teams) == ["accounts", "data-engineering", "data-science", "finance",
                                  "product-analytics", "software-eng"]
    validate_ownership(pipelines, team)
    defs = build_definitions(pipelines=pipelines, team=team)

    node = _node(defs, "investor/profit_daily")
    assert node.owners == ["team:finance", "team:data-engineering"]
    assert node.metadata["owners_primary"] == "team:finance"
    assert _node(defs, "investor/growth_daily").owners == ["team:accounts", "team:data-engineering"]
    assert _node(defs, "agg_engagement_daily").owners == ["team:software-eng", "team:data-engineering"]
    assert _node(defs, "agg_profit_experiment_daily").owners == ["team:data-engineering", "team:data-science"]

    # the shapes: daily 9 AM, by the 28th, weekly on Fridays, within 48 hours
    daily = _node(defs, "agg_profit_experiment_daily").freshness_policy
    assert (daily.deadline_cron, daily.lower_bound_delta) == ("0 9 * * *", timedelta(hours=9))
    assert _node(defs, "investor/profit_monthly").freshness_policy.deadline_cron == "0 0 28 * *"
    assert _node(defs, "investor/profit_daily").freshness_policy.deadline_cron == "0 8 * * *"
    weekly = _node(defs, "investor/growth_daily").freshness_policy
    assert (weekly.deadline_cron, weekly.lower_bound_delta) == ("0 17 * * FRI", timedelta(hours=24))
    assert _node(defs, "investor/growth_monthly").freshness_policy.deadline_cron == "0 12 1 * *"
    window = _node(defs, "investor/engagement_daily").freshness_policy
    assert window == dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=48))


def test_a_team_owners_load_is_spread_over_its_members() -> None:
    pipelines, team = _seed()
    loads = ownership_loads(pipelines, team)
    # Data Engineering: primary of 2 experiment pipelines (2 + 2), secondary of 3 investor ones
    # (3 x 1.5): 8.5 over 4 members; Accounts (1 member) primary of an investor pipeline: 3.0
    de = [loads[p.email] for p in team.team_members("data-engineering")]
    assert de == [8.5 / 4] * 4
    assert loads["lena.park@metrics.example.com"] == 3.0
    assert loads["nadia.rahman@metrics.example.com"] == 0.5  # Data Science of 2, one experiment secondary
    assert ownership_violations(pipelines, team) == []


def test_team_owners_keep_the_owner_rules() -> None:
    pipelines, team = _seed()
    data = pipelines.model_dump(mode="json")
    data["pipelines"]["growth_agg"]["owners"]["primary"] = "team:finance"  # two investor primaries
    data["pipelines"]["profit_unit"]["owners"]["secondary"] = "alex.mehta@metrics.example.com"  # in DE
    problems = ownership_violations(PipelineConfig.model_validate(data), team)
    assert any(p.startswith("[investor-primaries-distinct] pipelines growth_agg, profit_agg")
               for p in problems), problems
    assert any("profit_unit: alex.mehta@metrics.example.com is a member of team:data-engineering" in p
               for p in problems), problems


def test_routing_a_team_owner_goes_to_its_channel_and_escalation_contact() -> None:
    _, team = _seed()
    assert resolve_owner("team:finance", team) == (FINANCE_LEAD, "#finance-data")
    assert resolve_owner("team:accounts", team) == ("lena.park@metrics.example.com", "#accounts")  # a member
    assert resolve_owner("priya.rao@metrics.example.com", team) == ("priya.rao@metrics.example.com", None)
    with pytest.raises(ConfigError, match="no team 'legal'"):
        resolve_owner("team:legal", team)
    roles = roles_of(team)
    assert roles.owner("team:software-eng") == ("platform-pm@metrics.example.com", "#swe-kafka")
    assert roles.owner("chen.wu@metrics.example.com") == ("chen.wu@metrics.example.com", None)


def test_the_ladder_pages_a_team_owner_in_its_channel() -> None:
    """profit_agg (Finance primary, Data Engineering secondary): the primary owner informed is the
    Finance Lead in #finance-data; the incident commander is Data Engineering's escalation contact."""
    pipelines, team = _seed()
    p = pipelines.get("profit_agg")
    at = ist("2026-03-07 02:00")
    inc = Incident(id="INC-1", dedup_key=dedup_key(p.id, FailureKind.RUN_FAILURE, None), pipeline=p.id,
                   kind=FailureKind.RUN_FAILURE, partition=None, severity="sev1", status=Status.OPEN,
                   opened_at=at, page_start=at, primary_owner=p.owners.primary,
                   secondary_owner=p.owners.secondary)
    pages = plan_pages(inc, lookup=FakeLookup(), settings=load_alerting_settings(), roles=roles_of(team),
                       calendar=FakeCalendar(), now=at + timedelta(hours=1))
    by_level = {pg.level: pg for pg in pages}
    owner = by_level["primary_owner"]
    assert (owner.recipient, owner.channel, owner.action) == (FINANCE_LEAD, "#finance-data", Action.NOTIFY)
    ic = by_level["incident_commander"]
    assert (ic.recipient, ic.channel) == ("eng-manager@metrics.example.com", "#data-eng")
    assert by_level["primary_oncall"].channel is None  # on-call people: the pipeline's usual channel


def test_runbooks_name_the_teams_and_describe_the_sla_shapes() -> None:
    pipelines, team = _seed()
    fms = load_failure_modes()
    profit = render_block(pipelines.get("profit_agg"), pipelines, fms, team)
    assert "| Primary owner | Finance Team (`team:finance`, #finance-data; escalation Finance Lead" in profit
    assert "| Finance Team | `team:finance`: notified in #finance-data" in profit
    assert "Meera Iyer (meera.iyer@metrics.example.com)" in profit
    assert "closed month by 00:00 UTC on day 28 of the month" in profit
    growth = render_block(pipelines.get("growth_agg"), pipelines, fms, team)
    assert "weekly by 17:00 UTC every Friday (cron `0 17 * * FRI`" in growth
    assert "Dagster freshness policy follows `weekly`" in growth
    engagement = render_block(pipelines.get("engagement_agg"), pipelines, fms, team)
    assert "within 48 h of the activity" in engagement and "Software Eng. Team" in engagement
    assert "Incident commander: secondary owner Data Engineering Team" in engagement
    assert owner_label("team:data-science", team).startswith("Data Science Team (`team:data-science`")


def _team_yaml(tmp_path: Path, mutate) -> Path:  # noqa: ANN001
    data = yaml.safe_load((SEED / "team.yaml").read_text())
    mutate(data)
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["teams"]["finance"]["members"].append("ZZ"),
         r"teams.finance.members: 'ZZ' is not a person \(id or e-mail\)"),
        (lambda d: d["teams"]["finance"].pop("channel"),
         r"teams.finance.channel: a team needs a Slack channel"),
        (lambda d: d["teams"]["finance"].update(channel="finance"),
         r"teams.finance.channel: 'finance' is not"),
        (lambda d: d["teams"]["accounts"].update(members=[]),
         r"teams.accounts.members: a team needs at least one"),
        (lambda d: d["teams"]["finance"].update(escalation="LP"),
         r"teams.finance.escalation: 'LP' is neither a member of the team"),
        (lambda d: d["teams"]["finance"].update(escalation="cfo@metrics.example.com"),
         r"teams.finance.escalation: 'cfo@metrics.example.com'"),
        (lambda d: d["teams"].update({"Finance Ops": d["teams"]["finance"]}),
         r"teams.Finance Ops: a team id"),
    ],
)
def test_a_bad_team_is_refused_naming_the_key(tmp_path: Path, mutate, needle: str) -> None:  # noqa: ANN001
    path = _team_yaml(tmp_path, mutate)
    with pytest.raises(ConfigError, match=needle) as err:
        load_team_config(path)
    assert str(path) in str(err.value)


def test_an_owner_that_is_nobody_stops_the_code_location_naming_the_key() -> None:
    pipelines, team = _seed()
    for owner in ("team:legal", "someone@metrics.example.com"):
        data = pipelines.model_dump(mode="json")
        data["pipelines"]["profit_agg"]["owners"]["primary"] = owner
        with pytest.raises(ConfigError, match=rf"pipelines.profit_agg.owners.primary: '{owner}' is neither"):
            build_definitions(pipelines=PipelineConfig.model_validate(data), team=team)


def _pipelines_yaml(tmp_path: Path, mutate) -> Path:  # noqa: ANN001
    data = yaml.safe_load((SEED / "pipelines.yaml").read_text())
    mutate(data["pipelines"])
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda p: p["profit_unit"]["owners"].update(primary="Data Engineering Team"),
         r"pipelines.profit_unit.owners.primary.*'Data Engineering Team' is not an e-mail address"),
        (lambda p: p["profit_unit"]["owners"].update(primary="team:Data Engineering"),
         r"pipelines.profit_unit.owners.primary.*a team owner is 'team:<id>'"),
        (lambda p: p["profit_unit"].update(sla={}),
         r"pipelines.profit_unit.sla.*at least one of daily, weekly, monthly, within_hours"),
        (lambda p: p["growth_agg"]["sla"]["weekly"].update(deadline_cron="0 17 1 * *"),
         r"pipelines.growth_agg.sla.weekly.*is not weekly"),
        (lambda p: p["engagement_agg"]["sla"].update(within_hours=0),
         r"pipelines.engagement_agg.sla.within_hours"),
        (lambda p: p["engagement_agg"]["sla"].pop("daily"),
         r"pipelines.engagement_agg.sla.daily is required: the daily investor tables \['engagement_daily'\]"),
    ],
)
def test_bad_owner_or_sla_is_refused_naming_the_key(tmp_path: Path, mutate, needle: str) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=needle):
        load_pipeline_config(_pipelines_yaml(tmp_path, mutate))


def test_an_experiment_pipeline_may_have_no_daily_sla_where_nothing_needs_one(tmp_path: Path) -> None:
    def within_only(p: dict) -> None:
        p["growth_daily"]["sla"] = {"within_hours": 30}

    cfg = load_pipeline_config(_pipelines_yaml(tmp_path, within_only))
    p = cfg.get("growth_daily")
    assert p.sla.shapes == ("within_hours",) and p.sla.shape_for("day") == "within_hours"
    with pytest.raises(ConfigError, match="pipelines.growth_daily.sla.daily is required by the x check"):
        require_daily(p, "the x check")


# ------------------------------ showing a team owner: status, dashboards (incidents: test_alerting_cli.py)


def test_a_team_owner_is_shown_with_its_name_and_members() -> None:
    _, team = _seed()
    assert owner_display("team:finance", team) == FINANCE
    assert owner_display("team:accounts", team) == "Accounts Team (team:accounts: Lena Park)"  # by e-mail
    assert owner_display("chen.wu@metrics.example.com", team) == "chen.wu@metrics.example.com"
    assert owner_display("team:legal", team) == "team:legal (not a team of team.yaml)"


def test_an_owner_filter_is_a_person_with_their_teams_or_a_team() -> None:
    _, team = _seed()
    assert owner_refs_of("NR", team) == {"nadia.rahman@metrics.example.com", "team:data-science"}
    assert owner_refs_of("Alex.Mehta@metrics.example.com", team) == {
        "alex.mehta@metrics.example.com", "team:data-engineering"}
    assert owner_refs_of("team:finance", team) == {"team:finance"}
    for who in ("team:legal", "nobody@metrics.example.com", "ZZ"):
        with pytest.raises(ConfigError, match=rf"unknown owner '{who}'.*known people.*AM, PR.*"
                           r"known teams: team:accounts, team:data-engineering"):
            owner_refs_of(who, team)


@pytest.fixture
def seed_cli(seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """seed 004's config read by the commands in this process (the cached configs dropped before and
    after), an empty warehouse of its own."""
    monkeypatch.setenv("METRICS_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    caches = (pipeline_config, team_config)
    for c in caches:
        c.cache_clear()
    yield seed_dir
    for c in caches:
        c.cache_clear()


def _status(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, dict[str, str], str]:
    """Exit code, pipeline -> its owners line, stderr of `metrics status ARGV`."""
    args = build_parser("status").parse_args(["status", "--now", "2026-03-07T10:00:00Z", *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    listed = dict(re.findall(r"^(\S+) \((?:investor|experiment)\) owners (.*)$", out, re.M))
    return code, listed, err


def test_status_owner_a_person_sees_the_pipelines_of_their_teams(seed_cli, capsys) -> None:  # noqa: ANN001
    code, listed, _ = _status(capsys, "--owner", "NR")  # Data Science: secondary of profit_unit only
    assert code == 0
    assert listed == {"profit_unit": f"{DATA_ENG}, {DATA_SCIENCE}"}
    code, listed, _ = _status(capsys, "--owner", "priya.rao@metrics.example.com")  # Data Engineering
    assert (code, sorted(listed)) == (0, sorted(load_pipeline_config(SEED / "pipelines.yaml").ids))


def test_status_owner_a_team_lists_the_pipelines_that_team_owns(seed_cli, capsys) -> None:  # noqa: ANN001
    code, listed, _ = _status(capsys, "--owner", "team:finance")
    assert (code, listed) == (0, {"profit_agg": f"{FINANCE}, {DATA_ENG}"})
    code, listed, _ = _status(capsys, "--owner", "team:data-science", "--pipeline", "profit_agg")
    assert (code, listed) == (0, {})


@pytest.mark.parametrize("who", ["team:legal", "nobody@metrics.example.com"])
def test_status_an_unknown_owner_is_an_error_naming_it(seed_cli, capsys, who) -> None:  # noqa: ANN001
    code, listed, err = _status(capsys, "--owner", who)
    assert (code, listed) == (2, {})
    assert f"metrics status: unknown owner '{who}'" in err
    assert "AM, PR" in err and "known teams: team:accounts, team:data-engineering, team:data-science" in err


def test_the_dashboards_show_a_team_owner_with_its_name_and_members(tmp_path: Path) -> None:
    pipelines, team = _seed()
    at = datetime(2026, 3, 7, 10, tzinfo=UTC)
    report = build(duckdb.connect().cursor(), pipelines, team, at, tmp_path / "dash", incidents=[],
                   oncall=(None, "no schedule"))
    index = (report.out / "index.html").read_text()
    assert f"<td>{escape(FINANCE)} / {escape(DATA_ENG)}</td>" in index  # profit_agg's owners
    owners = (report.out / "owners" / "index.html").read_text()
    assert f'<a href="team-finance.html">{escape(FINANCE)}</a>' in owners
    assert f"<td>{escape(DATA_SCIENCE)}</td><td>team:data-science</td><td>profit_unit</td>" in owners
    page = (report.out / "owners" / "team-finance.html").read_text()
    assert f"<h1>{escape(FINANCE)}: my pipelines</h1>" in page
    assert "team:finance</td>" not in index + page  # never the bare reference in an owners cell
