{#- Profit per calendar quarter; the body is macros/profit_period.sql. Recomputes every quarter the run's
    window touches. -#}
{{ config(materialized='window_replace') }}

{{ profit_period('quarter') }}
