"""Golden tests of who-is-on-call at edge times, working-time helpers, and the Dagster resource.

The golden e-mails come from the committed config/oncall/schedule-2026.json; a re-plan that changes
these weeks must update them on purpose.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics_assets.oncall.calendar import is_working_time, next_working_start
from metrics_assets.oncall.lookup import OnCallLookup
from metrics_assets.oncall.planner import replan
from metrics_assets.oncall.schedule import Schedule, schedule_path
from metrics_core.team import Pto
from tests.test_oncall_helpers import default_team

IST = ZoneInfo("Asia/Kolkata")
AM, PR, CW, SK = (p.email for p in default_team().people)


@pytest.fixture(scope="module")
def lookup() -> OnCallLookup:
    return OnCallLookup.from_config(2026)


@pytest.mark.parametrize(
    ("at", "primary", "backup", "block_start", "reason"),
    [
        (datetime(2026, 3, 2, 8, 59, tzinfo=IST), PR, CW, datetime(2026, 2, 23, 9, tzinfo=IST), None),
        (
            datetime(2026, 3, 2, 8, 59, 59, 999999, tzinfo=IST),
            PR,
            CW,
            datetime(2026, 2, 23, 9, tzinfo=IST),
            None,
        ),
        (datetime(2026, 3, 2, 9, 0, tzinfo=IST), SK, PR, datetime(2026, 3, 2, 9, tzinfo=IST), None),
        (datetime(2026, 3, 2, 3, 30, tzinfo=UTC), SK, PR, datetime(2026, 3, 2, 9, tzinfo=IST), None),
        (datetime(2026, 3, 3, 23, 59, tzinfo=IST), SK, PR, datetime(2026, 3, 2, 9, tzinfo=IST), None),
        (
            datetime(2026, 3, 4, 0, 0, tzinfo=IST),
            PR,
            SK,
            datetime(2026, 3, 2, 9, tzinfo=IST),
            "Holi: backup acts as primary",
        ),
        (
            datetime(2026, 3, 4, 12, 0, tzinfo=IST),
            PR,
            SK,
            datetime(2026, 3, 2, 9, tzinfo=IST),
            "Holi: backup acts as primary",
        ),
        (datetime(2026, 3, 5, 0, 0, tzinfo=IST), SK, PR, datetime(2026, 3, 2, 9, tzinfo=IST), None),
    ],
)
def test_golden_lookup(lookup: OnCallLookup, at, primary, backup, block_start, reason) -> None:  # noqa: ANN001
    oc = lookup.who(at)
    assert (oc.primary, oc.backup, oc.block_start, oc.override_reason) == (
        primary,
        backup,
        block_start,
        reason,
    )
    assert oc.block_end == block_start + timedelta(weeks=1) and oc.at == at


def test_lookup_after_a_pto_swap() -> None:
    published = Schedule.load(schedule_path(2026))
    at = datetime(2026, 7, 22, 12, tzinfo=IST)
    assert OnCallLookup(published).who(at).primary == PR
    swapped, changes = replan(
        published, default_team(), as_of=datetime(2026, 6, 1, 10, tzinfo=IST),
        extra_pto=[("PR", Pto(start=date(2026, 7, 21), end=date(2026, 7, 23), reason="wedding"))],
    )  # fmt: skip
    oc = OnCallLookup(swapped).who(at)
    slot = next(s for s in swapped.slots if s.id == "2026-W30")
    assert PR not in (oc.primary, oc.backup) and (oc.primary, oc.backup) == (slot.primary, slot.backup)
    assert any(c.block == "2026-W30" and c.role == "primary" and "wedding" in c.why for c in changes)


def test_lookup_refuses_naive_and_out_of_horizon_times(lookup: OnCallLookup) -> None:
    with pytest.raises(ValueError, match="naive"):
        lookup.who(datetime(2026, 3, 2, 9))
    with pytest.raises(ValueError, match="outside"):
        lookup.who(datetime(2025, 12, 29, 8, 59, tzinfo=IST))
    with pytest.raises(ValueError, match="outside"):
        lookup.who(datetime(2027, 1, 4, 9, tzinfo=IST))
    assert lookup.who(datetime(2027, 1, 4, 8, 59, tzinfo=IST)).block_end == datetime(
        2027, 1, 4, 9, tzinfo=IST
    )


def test_lookup_over_every_published_schedule(lookup: OnCallLookup) -> None:
    at = datetime(2026, 8, 15, 10, tzinfo=IST)  # Independence Day override
    assert OnCallLookup.from_config().who(at) == lookup.who(at)
    assert lookup.who(at).override_reason == "Independence Day: backup acts as primary"
    assert OnCallLookup.from_config(str(schedule_path(2026))).who(at) == lookup.who(at)


@pytest.mark.parametrize(
    ("at", "working", "next_start"),
    [
        (datetime(2026, 3, 3, 9, 0, tzinfo=IST), True, datetime(2026, 3, 3, 9, tzinfo=IST)),
        (datetime(2026, 3, 3, 8, 59, tzinfo=IST), False, datetime(2026, 3, 3, 9, tzinfo=IST)),
        (datetime(2026, 3, 3, 18, 59, tzinfo=IST), True, datetime(2026, 3, 5, 9, tzinfo=IST)),  # 4th is Holi
        (datetime(2026, 3, 3, 19, 0, tzinfo=IST), False, datetime(2026, 3, 5, 9, tzinfo=IST)),
        (datetime(2026, 3, 4, 11, 0, tzinfo=IST), False, datetime(2026, 3, 5, 9, tzinfo=IST)),
        (datetime(2026, 3, 6, 20, 0, tzinfo=IST), False, datetime(2026, 3, 9, 9, tzinfo=IST)),  # Friday night
        (
            datetime(2026, 11, 8, 12, 0, tzinfo=IST),
            False,
            datetime(2026, 11, 10, 9, tzinfo=IST),
        ),  # Diwali + company day
        (datetime(2026, 3, 3, 4, 0, tzinfo=UTC), True, datetime(2026, 3, 5, 9, tzinfo=IST)),
    ],
)
def test_working_time(at: datetime, working: bool, next_start: datetime) -> None:
    assert is_working_time(at) is working
    assert next_working_start(at) == next_start  # the first business-hours start at or after `at`


def test_working_time_bounds_come_from_config_and_naive_is_refused() -> None:
    at = datetime(2026, 3, 3, 19, 30, tzinfo=IST)
    assert not is_working_time(at) and is_working_time(at, start="09:00", end="20:00")
    team = default_team()
    later = team.model_copy(
        update={"business_hours": team.business_hours.model_copy(update={"end": "20:00"})}
    )
    assert is_working_time(at, team=later)
    with pytest.raises(ValueError, match="naive"):
        is_working_time(datetime(2026, 3, 3, 10))
    with pytest.raises(ValueError, match="naive"):
        next_working_start(datetime(2026, 3, 3, 10))
