"""Dagster code location for the metrics platform."""

import warnings

import dagster as dg

# backfill_policy on @asset and partitioned asset checks are beta/preview in 1.13; we rely on them
# deliberately (see README, "Dagster features we depend on"), so the per-asset warnings are noise.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
