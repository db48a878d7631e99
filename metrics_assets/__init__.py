"""Dagster code location for the metrics platform."""

import warnings

# backfill_policy on @asset and partitioned asset checks are beta/preview in 1.13; we rely on them
# deliberately (see README, "Dagster features we depend on"), so the per-asset warnings are noise.
# Matched by message so that importing this package (e.g. for `metrics --help`) loads no Dagster.
warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview).*")
