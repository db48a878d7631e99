"""Owner references of config/pipelines.yaml, and where a notification to an owner goes.

A pipeline's `owners.primary` / `owners.secondary` is either a person's e-mail or `team:<id>`, a
team of team.yaml `teams` (the form Dagster's asset `owners` accepts natively). Routing a
notification to an owner (`resolve_owner`):
- a person: to that person's e-mail, in the pipeline's usual channel (no channel override);
- a team: to the team's escalation contact (a member or a role, team.yaml `teams.<id>.escalation`)
  as the recipient, posted in the team's Slack channel (`teams.<id>.channel`).
Pure functions of the parsed team config: no I/O, no clock.
"""

from __future__ import annotations

from typing import NamedTuple

from metrics_core.config import TEAM_PREFIX, ConfigError
from metrics_core.team import TeamConfig


class OwnerRoute(NamedTuple):
    recipient: str  # an e-mail: the person, or the team's escalation contact
    channel: str | None  # the team's Slack channel; None: the pipeline's usual channel


def team_id(ref: str) -> str | None:
    """`finance` for `team:finance`; None for a person's e-mail."""
    return ref[len(TEAM_PREFIX):] if ref.startswith(TEAM_PREFIX) else None


def is_known_owner(ref: str, team: TeamConfig) -> bool:
    """A person (e-mail) of team.yaml `people`, or a team of its `teams`."""
    tid = team_id(ref)
    if tid is not None:
        return tid in team.teams
    return any(ref.lower() == p.email for p in team.people)


def resolve_owner(ref: str, team: TeamConfig) -> OwnerRoute:
    """Who receives an owner notification, and in which Slack channel (None: the default one)."""
    tid = team_id(ref)
    if tid is None:
        return OwnerRoute(ref.lower(), None)
    if tid not in team.teams:
        raise ConfigError(f"owner {ref!r}: team.yaml has no team {tid!r}; known teams: {sorted(team.teams)}")
    return OwnerRoute(team.team_escalation(tid), team.teams[tid].channel)


def owner_routes(team: TeamConfig) -> dict[str, OwnerRoute]:
    """`team:<id>` -> its route, for every team (what the alert engine's Roles carry)."""
    return {f"{TEAM_PREFIX}{tid}": resolve_owner(f"{TEAM_PREFIX}{tid}", team) for tid in team.teams}


def owner_people(ref: str, team: TeamConfig) -> tuple[str, ...]:
    """The e-mails an owner stands for: the person, or every member of the team."""
    tid = team_id(ref)
    if tid is None:
        return (ref.lower(),)
    return tuple(p.email for p in team.team_members(tid))


def owner_label(ref: str, team: TeamConfig) -> str:
    """For humans (runbooks, dashboards): 'Priya Rao (priya.rao@...)' or
    'Finance Team (`team:finance`, #finance-data; escalation Finance Lead (finance-lead@...))'."""
    tid = team_id(ref)
    if tid is None:
        try:
            return f"{team.person(ref).name} ({ref})"
        except ConfigError:
            raise ConfigError(
                f"config/team.yaml: owner {ref!r} from config/pipelines.yaml is not in people"
            ) from None
    t = team.team(tid)
    contact = resolve_owner(ref, team).recipient
    who = next((p.name for p in team.people if p.email == contact), None)
    who = who or next((r.name for r in team.roles.values() if r.email == contact), contact)
    return f"{t.name} (`{ref}`, {t.channel}; escalation {who} ({contact}))"
