{#- Profit per calendar month; the body is macros/profit_period.sql. Recomputes every month the run's
    window touches. -#}
{{ config(materialized='window_replace') }}

{{ profit_period('month') }}
