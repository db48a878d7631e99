"""The check library: failure-mode registry, check implementations, history and scoring.

It imports only the ground layer (`metrics_core`) and the adapters (`resources`); the Dagster
asset checks built from it are wiring of the code location (`metrics_assets.asset_checks`).
"""
