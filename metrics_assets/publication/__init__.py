"""Fail-closed publication of investor tables (write, audit, publish) and its failure hook."""
