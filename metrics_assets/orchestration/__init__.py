"""How runs are shaped and watched: partitions, jobs and schedule, freshness, run log, launcher."""
