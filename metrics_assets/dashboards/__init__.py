"""The owners' ops dashboards: static HTML pages built from the ops tables (no server needed).

Ops Overview, Freshness & Lag, Error Budget Burn, Schema Contracts, and a page per owner. `data`
reads the ops tables, the incident store and the on-call schedule; `charts` draws with plotly;
`pages` lays them out; `build` writes the files.
"""
