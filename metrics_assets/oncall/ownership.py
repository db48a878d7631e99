"""The spec's ownership rules, checked against config/pipelines.yaml owners and the team.

Owners live only in pipelines.yaml; this module judges them. Every violated rule is reported
at once, each naming the rule and the pipeline(s), so a reviewer fixes the file in one pass.

An owner is a person (e-mail) or a team (`team:<id>`, team.yaml `teams`). The rules read teams so:
- load (balanced-load, everyone-owns-one) is a person's: a team's share of a pipeline is spread
  evenly over its members (Finance Team of 2 as investor primary: 3.0 / 2 = 1.5 each), so the
  spec's "loads differ by at most one pipeline's weight" keeps comparing people, and a member of
  an owning team owns that pipeline;
- owner identity (primary differs from secondary, distinct investor primaries, pair-limit) is the
  owner as written: `team:finance` is one owner; a person who is a member of the other owner team
  of the same pipeline counts as the same owner for primary-differs-from-secondary.
"""

from __future__ import annotations

from collections import defaultdict

from metrics_core.config import ConfigError, PipelineConfig
from metrics_core.owners import is_known_owner, owner_people
from metrics_core.team import TeamConfig


def _shares(ref: str, team: TeamConfig) -> list[str]:
    """The people an owner stands for (none when it is no one of team.yaml)."""
    return list(owner_people(ref, team)) if is_known_owner(ref, team) else []


def ownership_loads(pipeline_cfg: PipelineConfig, team: TeamConfig) -> dict[str, float]:
    """Weighted ownership load per team e-mail (primary 2, secondary 1, investor x1.5 by default);
    a team owner's weight is split evenly over its members."""
    pol = team.ownership
    loads = {p.email: 0.0 for p in team.people}
    for pl in pipeline_cfg.pipelines.values():
        mult = pol.investor_multiplier if pl.is_investor else 1.0
        for ref, weight in (
            (pl.owners.primary, pol.primary_weight),
            (pl.owners.secondary, pol.secondary_weight),
        ):
            people = _shares(ref, team)
            for email in people:
                if email in loads:
                    loads[email] += weight * mult / len(people)
    return loads


def ownership_violations(pipeline_cfg: PipelineConfig, team: TeamConfig) -> list[str]:
    """Human-readable violations, each starting with the rule name in brackets."""
    out: list[str] = []
    emails = {p.email: p for p in team.people}
    pipes = pipeline_cfg.pipelines
    owned: dict[str, list[str]] = defaultdict(list)
    for pid, pl in pipes.items():
        o = pl.owners
        for role, ref in (("primary", o.primary), ("secondary", o.secondary)):
            if not is_known_owner(ref, team):
                out.append(
                    f"[owner-in-team] pipelines.{pid}.owners.{role}: {ref!r} is neither a person (e-mail of "
                    f"people) nor a team (team:<id> of teams {sorted(team.teams)}) in team.yaml"
                )
            for email in _shares(ref, team):
                owned[email].append(pid)
        if o.primary == o.secondary:
            out.append(
                f"[primary-differs-from-secondary] pipeline {pid}: primary and secondary are both {o.primary}"
            )
        for person, other in ((o.primary, o.secondary), (o.secondary, o.primary)):
            is_person, other_is_team = not person.startswith("team:"), other.startswith("team:")
            if is_person and other_is_team and person in _shares(other, team):
                out.append(
                    f"[primary-differs-from-secondary] pipeline {pid}: {person} is a member of {other}, "
                    "the other owner"
                )

    by_primary: dict[str, list[str]] = defaultdict(list)
    for pid, pl in pipes.items():
        if pl.is_investor:
            by_primary[pl.owners.primary].append(pid)
    for email, pids in sorted(by_primary.items()):
        if len(pids) > 1:
            out.append(
                f"[investor-primaries-distinct] pipelines {', '.join(sorted(pids))} are investor pipelines "
                f"with the same primary owner {email}"
            )

    for p in team.people:
        if not owned.get(p.email):
            out.append(f"[everyone-owns-one] {p.id} ({p.email}) is primary or secondary of no pipeline")

    loads = ownership_loads(pipeline_cfg, team)
    limit = team.ownership.max_pipeline_weight
    hi = max(loads, key=lambda e: (loads[e], e))
    lo = min(loads, key=lambda e: (loads[e], e))
    if loads[hi] - loads[lo] > limit + 1e-9:
        out.append(
            f"[balanced-load] {emails[hi].id} carries {loads[hi]:g} "
            f"(pipelines {', '.join(sorted(set(owned[hi])))}) and {emails[lo].id} carries {loads[lo]:g} "
            f"(pipelines {', '.join(sorted(set(owned[lo]))) or 'none'}): "
            f"difference {loads[hi] - loads[lo]:g} exceeds one pipeline's weight {limit:g}"
        )

    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for pid, pl in pipes.items():
        a, b = sorted((pl.owners.primary, pl.owners.secondary))
        pairs[(a, b)].append(pid)
    cap = team.ownership.max_pipelines_per_pair
    for (a, b), pids in sorted(pairs.items()):
        if len(pids) > cap:
            out.append(
                f"[pair-limit] {a} and {b} own pipelines {', '.join(sorted(pids))} together "
                f"({len(pids)} > {cap})"
            )
    return out


def validate_ownership(pipeline_cfg: PipelineConfig, team: TeamConfig) -> None:
    """Raise ConfigError listing every ownership rule the pipeline owners break."""
    problems = ownership_violations(pipeline_cfg, team)
    if problems:
        raise ConfigError("pipelines.yaml owners break the ownership rules:\n  - " + "\n  - ".join(problems))
