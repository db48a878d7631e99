"""Holiday calendars: python-holidays' list for a country, corrected by the company's list.

The library is the default proposal and the company list is authoritative (lunar dates differ by
region and move between library releases), so additions and removals from team.yaml are applied
last. Years outside the library's reliable range are refused rather than silently wrong.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays as pyholidays

from metrics_core.config import ConfigError
from metrics_core.team import HolidayPolicy, HolidaySource, Person, TeamConfig

log = logging.getLogger(__name__)
ESTIMATED = " (estimated)"


@lru_cache(maxsize=64)
def _library(source: HolidaySource, years: tuple[int, ...]) -> dict[date, tuple[str, ...]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            h = pyholidays.country_holidays(
                source.country, subdiv=source.subdiv, years=years, categories=source.categories
            )
        except NotImplementedError as exc:
            raise ConfigError(f"team.yaml holidays: {exc}") from None
        days = {d: tuple(h.get_list(d)) for d in sorted(h)}
    limits = [str(w.message) for w in caught if "available only" in str(w.message)]
    if limits:
        raise ConfigError(
            f"team.yaml holidays {source.country}/{source.subdiv or '-'} for {list(years)}: {limits[0]} "
            "Refusing to plan on incomplete holiday data; add the company list for that year."
        )
    return days


def _merge(source: HolidaySource, policy: HolidayPolicy, years: Iterable[int]) -> dict[date, tuple[str, ...]]:
    ys = tuple(sorted(set(years)))
    days = dict(_library(source, ys))
    for d in policy.removals:
        days.pop(d, None)
    for add in policy.additions:
        if add.date.year in ys:
            days[add.date] = (*days.get(add.date, ()), add.name)
    return dict(sorted(days.items()))


def company_holidays(team: TeamConfig, years: Iterable[int]) -> dict[date, str]:
    """date -> name(s) of the team's (company) holiday calendar."""
    return {d: "; ".join(names) for d, names in _merge(team.holidays, team.holidays, years).items()}


def person_holidays(person: Person, team: TeamConfig, years: Iterable[int]) -> dict[date, str]:
    """date -> name(s) for one person: their own country/subdivision with the company's corrections."""
    src = person.holidays or team.holidays
    src = HolidaySource(country=src.country, subdiv=src.subdiv, categories=src.categories)
    return {d: "; ".join(names) for d, names in _merge(src, team.holidays, years).items()}


def critical_days(team: TeamConfig, years: Iterable[int]) -> dict[date, str]:
    """date -> critical holiday name (Backup acts as Primary); unknown critical names are refused."""
    ys = tuple(sorted(set(years)))
    merged = _merge(team.holidays, team.holidays, ys)
    wanted = set(team.holidays.critical)
    flagged = {a.name for a in team.holidays.additions if a.critical}
    out: dict[date, str] = {}
    found: set[str] = set()
    for d, names in merged.items():
        for name in names:
            base = name.removesuffix(ESTIMATED)
            if base in wanted or name in flagged:
                out.setdefault(d, base)
                found.add(base)
    missing = sorted(wanted - found)
    if missing:
        raise ConfigError(
            f"team.yaml holidays.critical: {missing} not found in the {team.holidays.country} calendar for "
            f"{list(ys)} (names must match python-holidays, e.g. 'Holi', 'Diwali')"
        )
    return out


def estimated_days(team: TeamConfig, years: Iterable[int]) -> dict[date, str]:
    """Holidays the library only estimates (e.g. Islamic dates after 2026): to be confirmed by a human."""
    return {d: n for d, n in company_holidays(team, years).items() if ESTIMATED.strip() in n}
