{#- Scratch table of the run's window (replaced by every run, not a history): every event of the
    window once, deduplicated on event_id keeping the first received copy, with the bot flags.
    Bot traffic: the user agent matches a bot pattern, or the event's ip sent more than
    max_events_per_ip_minute deduplicated events in one UTC clock minute of that day (which makes
    all of that ip's events that day bot traffic). fct_events and agg_event_quality_daily read it. -#}
{{ config(window_min_days=1) }}

with received as (
    select *
    from {{ ref('stg_app_events') }}
    where {{ ts_in_window('event_time') }}
),

deduped as (
    select
        *,
        cast(event_time as date) as event_date,
        count(*) over (partition by event_id) as copies
    from received
    qualify row_number() over (
        partition by event_id
        order by received_at, event_time, user_id, device_id, event_type, ip, user_agent
    ) = 1
),

flood_ip_days as (
    select distinct ip, event_date
    from (
        select ip, event_date, date_trunc('minute', event_time) as minute, count(*) as events
        from deduped
        group by ip, event_date, date_trunc('minute', event_time)
    ) as per_minute
    where events > {{ metrics_var('max_events_per_ip_minute', 0) | int }}
),

flagged as (
    select
        e.*,
        {{ regex_search('e.user_agent', metrics_var('bot_ua_regex', 'parse')) }} as is_bot_ua,
        f.ip is not null as is_flood_ip
    from deduped as e
    left join flood_ip_days as f on f.ip = e.ip and f.event_date = e.event_date
)

select
    event_id,
    user_id,
    device_id,
    session_hint,
    event_type,
    event_time,
    event_date,
    received_at,
    ip,
    user_agent,
    schema_version,
    copies,
    is_bot_ua,
    is_flood_ip,
    is_bot_ua or is_flood_ip as is_bot,
    event_type in {{ metrics_str_list(metrics_var('accepted_event_types', ['parse'])) }} as is_accepted_type,
    not (is_bot_ua or is_flood_ip) and user_id is not null as is_counted
from flagged
