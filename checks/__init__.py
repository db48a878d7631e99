"""The check library: failure-mode registry, implementations, Dagster asset checks, history.

`ASSET_CHECKS` (every catalogue check as a Dagster asset check) and `run_all_checks` are
resolved lazily so importing a small module such as checks.anomaly stays cheap and cycle-free.
"""

from typing import Any

__all__ = ["ASSET_CHECKS", "run_all_checks", "CheckOutcome"]


def __getattr__(name: str) -> Any:
    if name == "ASSET_CHECKS":
        from checks.definitions import build_asset_checks

        value = build_asset_checks()
        globals()[name] = value
        return value
    if name in ("run_all_checks", "CheckOutcome"):
        from checks import core

        return getattr(core, name)
    raise AttributeError(f"module 'checks' has no attribute {name!r}")
