"""Dagster code location for the metrics platform."""
