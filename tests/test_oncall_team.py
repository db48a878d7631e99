"""Team config validation and the ownership rules: each rule is shown failing on the data it guards."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from metrics_assets.oncall.holiday_calendar import company_holidays, critical_days
from metrics_assets.oncall.ownership import ownership_loads, ownership_violations, validate_ownership
from metrics_core.config import ConfigError, PipelineConfig, pipeline_config
from metrics_core.paths import config_dir
from metrics_core.team import load_team_config
from tests.test_oncall_helpers import default_team, make_team

AM, PR, CW, SK = (p.email for p in default_team().people)


def _team_file(tmp_path: Path, mutate) -> Path:  # noqa: ANN001
    data = yaml.safe_load((config_dir() / "team.yaml").read_text())
    mutate(data)
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _pipelines(**owners: tuple[str, str]) -> PipelineConfig:
    data = pipeline_config().model_dump(mode="json")
    for pid, (p, s) in owners.items():
        data["pipelines"][pid]["owners"] = {"primary": p, "secondary": s}
    return PipelineConfig.model_validate(data)


def test_default_team_loads_and_default_owners_pass_every_rule() -> None:
    team = default_team()
    assert [p.id for p in team.rotation_people] == ["AM", "PR", "CW", "SK"]
    assert team.rotation.freeze_weeks == 2 and team.rotation.handoff.time == "09:00"
    validate_ownership(pipeline_config(), team)
    loads = ownership_loads(pipeline_config(), team)
    # documented: "one pipeline's weight" = the heaviest single share, investor primary 2 x 1.5 = 3.0
    assert team.ownership.max_pipeline_weight == 3.0
    assert max(loads.values()) - min(loads.values()) <= 3.0


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (
            lambda d: d["people"][0]["pto"].append({"start": "2026-03-10", "end": "2026-03-01"}),
            "before its start",
        ),
        (lambda d: d["rotation"]["handoff"].update(weekday="MONDAY"), "rotation.handoff.weekday"),
        (lambda d: d["people"][1].update(email=d["people"][0]["email"]), "duplicate email"),
        (lambda d: d["holidays"]["critical"].append("Diwaali"), "Diwaali"),
        (lambda d: d["holidays"].update(library_version="0.1"), "library_version"),
        (lambda d: d["business_hours"].update(end="08:00"), "not after start"),
        (lambda d: d["rotation"].update(start="2025-12-30"), "is a TUE"),
        (lambda d: d["rotation"].update(fairness_order=["primary_weeks", "nights"]), "fairness_order"),
        (lambda d: d["roles"].pop("finance_lead"), "roles.finance_lead"),
        (lambda d: d["people"][0].update(timezone="Asia/Bombay_"), "time zone"),
        (lambda d: d["people"][0].update(email="Priya Rao"), r"people.0.email.*not an e-mail"),
        (
            lambda d: d["roles"]["platform_lead"].update(email="lead"),
            r"roles.platform_lead.email.*not an e-mail",
        ),
    ],
)
def test_bad_team_config_is_refused_naming_the_key(tmp_path: Path, mutate, needle: str) -> None:  # noqa: ANN001
    path = _team_file(tmp_path, mutate)
    with pytest.raises(ConfigError, match=needle) as err:
        team = load_team_config(path)
        critical_days(team, [2026])  # critical names are checked against the calendar
    assert str(path) in str(err.value) or "holidays.critical" in str(err.value)


def test_company_additions_and_removals_override_the_library() -> None:
    team = make_team(3, additions=[(date(2026, 11, 9), "Company day", False)])
    cal = company_holidays(team, [2026])
    assert cal[date(2026, 3, 4)] == "Holi" and cal[date(2026, 11, 9)] == "Company day"
    team2 = team.model_copy(
        update={"holidays": team.holidays.model_copy(update={"removals": (date(2026, 3, 4),)})}
    )
    assert date(2026, 3, 4) not in company_holidays(team2, [2026])


def test_years_beyond_the_library_range_are_refused() -> None:
    with pytest.raises(ConfigError, match="available only"):
        company_holidays(make_team(3), [2040])


@pytest.mark.parametrize(
    ("owners", "rule", "pipeline"),
    [
        ({"profit_agg": (AM, AM)}, None, None),  # refused already by the pipeline loader (see below)
        ({"growth_agg": (AM, SK)}, "investor-primaries-distinct", "growth_agg"),
        ({"growth_agg": ("nobody@metrics.example.com", SK)}, "owner-in-team", "growth_agg"),
        (
            {"growth_daily": (PR, AM), "growth_agg": (CW, PR), "profit_unit": (PR, CW)},
            "everyone-owns-one",
            "SK",
        ),
        ({"profit_unit": (AM, CW), "growth_daily": (AM, SK)}, "balanced-load", "AM carries"),
        ({"profit_unit": (PR, AM)}, "pair-limit", "engagement_agg, profit_agg, profit_unit"),
    ],
)
def test_each_ownership_rule_fails_on_bad_owners(owners, rule, pipeline) -> None:  # noqa: ANN001
    if rule is None:
        with pytest.raises(ValueError, match="must differ"):
            _pipelines(**owners)
        return
    cfg = _pipelines(**owners)
    problems = ownership_violations(cfg, default_team())
    assert any(p.startswith(f"[{rule}]") and pipeline in p for p in problems), problems
    with pytest.raises(ConfigError, match=rule):
        validate_ownership(cfg, default_team())


def test_broken_ownership_stops_the_code_location_from_loading() -> None:
    """The same rules run when the definitions are built, not only in `metrics oncall`."""
    from metrics_assets.definitions import build_definitions

    cfg = _pipelines(growth_agg=("nobody@metrics.example.com", AM))
    with pytest.raises(ConfigError, match=r"\[owner-in-team\] pipelines.growth_agg.owners.primary: 'nobody@"):
        build_definitions(pipelines=cfg)
    build_definitions(pipelines=pipeline_config())  # the shipped config loads
