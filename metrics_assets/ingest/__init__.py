"""Raw sources: one daily-partitioned asset per landed (or, locally, generated) raw table."""
