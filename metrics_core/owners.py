"""Owner references of config/pipelines.yaml, and where a notification to an owner goes.

A pipeline's `owners.primary` / `owners.secondary` is either a person's e-mail or `team:<id>`, a
team of team.yaml `teams` (the form Dagster's asset `owners` accepts natively). Routing a
notification to an owner (`resolve_owner`):
- a person: to that person's e-mail, in the pipeline's usual channel (no channel override);
- a team: to the team's escalation contact (a member or a role, team.yaml `teams.<id>.escalation`)
  as the recipient, posted in the team's Slack channel (`teams.<id>.channel`).
Showing an owner (`owner_display`: dashboards, `metrics status`, `metrics incidents`) expands a team to
its name and members; `owner_refs_of` is what `metrics status --owner` matches (a person's teams too).
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
    """For the runbooks (markdown): 'Priya Rao (priya.rao@...)' or
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


def owner_display(ref: str, team: TeamConfig) -> str:
    """An owner as the dashboards, `metrics status` and `metrics incidents` show it: a team expanded
    to its display name, id and members, 'Finance Team (team:finance: Meera Iyer, Ravi Shah)';
    a person as written (their e-mail). A team team.yaml no longer has (an old incident's owner) is
    shown as written, marked, rather than refused: a listing must not fail on history."""
    tid = team_id(ref)
    if tid is None:
        return ref
    if tid not in team.teams:
        return f"{ref} (not a team of team.yaml)"
    members = ", ".join(p.name for p in team.team_members(tid))
    return f"{team.teams[tid].name} ({ref}: {members})"


def owner_refs_of(who: str, team: TeamConfig) -> frozenset[str]:
    """The pipelines.yaml owner values that `who` answers for: `team:<id>` stands for itself; a person
    (team.yaml id or e-mail) for their e-mail and every `team:<id>` they are a member of. Anyone
    else is refused naming the value and listing the known people and teams."""
    ref = who.strip()
    tid = team_id(ref.lower())
    if tid is not None:
        if tid not in team.teams:
            raise ConfigError(f"unknown owner {who!r}: team.yaml has no team {tid!r}; "
                              f"{_known_owners(team)}")
        return frozenset({f"{TEAM_PREFIX}{tid}"})
    try:
        person = team.person(ref)
    except ConfigError:
        raise ConfigError(f"unknown owner {who!r}: neither a person (id or e-mail) nor a team "
                          f"of team.yaml; {_known_owners(team)}") from None
    teams = {f"{TEAM_PREFIX}{t}" for t in team.teams}
    return frozenset({person.email, *(t for t in teams if person.email in owner_people(t, team))})


def _known_owners(team: TeamConfig) -> str:
    people = ", ".join(p.id for p in team.people)
    teams = ", ".join(f"{TEAM_PREFIX}{t}" for t in sorted(team.teams)) or "none"
    return f"known people (id, or their e-mail): {people}; known teams: {teams}"
