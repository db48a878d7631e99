"""The ground layer: config models and loading, paths, source contracts, metric rules, the run
clock, experiments and the date windows that also feed the dbt vars. It imports nothing of the
project above it (adapters in `resources`, the check library in `checks`, the code location in
`metrics_assets`), so each of those can depend on it (import contract: pyproject.toml)."""
