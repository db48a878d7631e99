"""Builders for on-call tests: the default team from config/team.yaml, or small synthetic teams."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from metrics_core.team import TeamConfig, load_team_config

ROLES = {
    "platform_lead": {"name": "Lead", "email": "lead@x.example.com"},
    "engineering_manager": {"name": "EM", "email": "em@x.example.com"},
    "finance_lead": {"name": "FL", "email": "fl@x.example.com"},
}


def default_team() -> TeamConfig:
    return load_team_config()


def make_team(
    n: int,
    *,
    start: date = date(2026, 1, 5),
    weeks: int = 12,
    pto: dict[int, list[tuple[date, date]]] | None = None,
    additions: list[tuple[date, str, bool]] = (),
    critical: tuple[str, ...] = (),
    max_consecutive: int | None = 2,
    **rotation: Any,
) -> TeamConfig:
    """A team of `n` people P0..Pn-1 on the IN calendar plus `additions` (date, name, critical)."""
    people = [
        {
            "id": f"P{i}",
            "name": f"Person {i}",
            "email": f"p{i}@x.example.com",
            "pto": [{"start": s, "end": e} for s, e in (pto or {}).get(i, [])],
        }
        for i in range(n)
    ]
    return TeamConfig.model_validate(
        {
            "people": people,
            "roles": ROLES,
            "holidays": {
                "country": "IN",
                "additions": [{"date": d, "name": nm, "critical": c} for d, nm, c in additions],
                "critical": list(critical),
            },
            "rotation": {
                "start": start,
                "horizon_weeks": weeks,
                "max_consecutive_duty_weeks": max_consecutive,
                **rotation,
            },
        }
    )


def test_make_team_builds_valid_configs() -> None:
    t = make_team(3, pto={0: [(date(2026, 1, 6), date(2026, 1, 7))]})
    assert [p.id for p in t.rotation_people] == ["P0", "P1", "P2"]
    assert t.people[0].pto[0].end == date(2026, 1, 7)
    with pytest.raises(ValueError, match="rotation.start"):
        make_team(3, start=date(2026, 1, 6))  # a Tuesday, handoff is Monday
