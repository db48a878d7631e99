"""Ownership rules and the fair, holiday-aware on-call rotation (see runbooks/oncall.md).

Entry points: `lookup.OnCallLookup` (who is on call at T), `calendar.is_working_time` /
`calendar.next_working_start`, `planner.generate` / `planner.replan`, `ownership.validate_ownership`.
"""
