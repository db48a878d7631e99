{#- Data-quality helper for the engagement runbook, per event day: received rows, duplicates and
    their rate, bot events (by user agent, by ip flood) and their share, events of unknown type and
    their share, anonymous events, counted events and the newest received_at (ingestion lag).
    Shares are of the deduplicated events. Reads only its own window of the events history. -#}
{{ config(materialized='window_replace') }}

{%- set w = metrics_window(config) %}

with spine as (
    {{ date_spine(w['start'], w['end'], 'day') }}
),

daily as (
    select
        event_date as day,
        sum(copies) as raw_events,
        count(*) as deduped_events,
        sum(case when is_bot then 1 else 0 end) as bot_events,
        sum(case when is_bot_ua then 1 else 0 end) as bot_ua_events,
        sum(case when is_flood_ip then 1 else 0 end) as flood_ip_events,
        count(distinct case when is_flood_ip then ip end) as flood_ips,
        sum(case when not is_accepted_type then 1 else 0 end) as unknown_type_events,
        sum(case when not is_bot and user_id is null then 1 else 0 end) as anonymous_events,
        sum(case when is_counted then 1 else 0 end) as counted_events,
        max(received_at) as max_received_at
    from {{ ref('int_app_events_window') }}
    where {{ in_window('event_date') }}
    group by event_date
)

select
    s.day,
    cast(coalesce(d.raw_events, 0) as {{ dbt.type_bigint() }}) as raw_events,
    cast(coalesce(d.deduped_events, 0) as {{ dbt.type_bigint() }}) as deduped_events,
    cast(coalesce(d.raw_events, 0) - coalesce(d.deduped_events, 0) as {{ dbt.type_bigint() }}) as duplicate_events,
    {{ safe_ratio('d.raw_events - d.deduped_events', 'd.raw_events') }} as duplicate_rate,
    cast(coalesce(d.bot_events, 0) as {{ dbt.type_bigint() }}) as bot_events,
    {{ safe_ratio('d.bot_events', 'd.deduped_events') }} as bot_share,
    cast(coalesce(d.bot_ua_events, 0) as {{ dbt.type_bigint() }}) as bot_ua_events,
    cast(coalesce(d.flood_ip_events, 0) as {{ dbt.type_bigint() }}) as flood_ip_events,
    cast(coalesce(d.flood_ips, 0) as {{ dbt.type_bigint() }}) as flood_ips,
    cast(coalesce(d.unknown_type_events, 0) as {{ dbt.type_bigint() }}) as unknown_type_events,
    {{ safe_ratio('d.unknown_type_events', 'd.deduped_events') }} as unknown_type_share,
    cast(coalesce(d.anonymous_events, 0) as {{ dbt.type_bigint() }}) as anonymous_events,
    cast(coalesce(d.counted_events, 0) as {{ dbt.type_bigint() }}) as counted_events,
    d.max_received_at,
    {{ metrics_version_columns() }}
from spine as s
left join daily as d on d.day = s.day
where s.day >= (select min(event_date) from {{ ref('fct_events') }})
