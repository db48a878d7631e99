{#- Every event once, per UTC event day: deduplicated on event_id keeping the first received copy,
    with the bot flags. Bot traffic: the user agent matches a bot pattern, or the event's ip sent
    more than max_events_per_ip_minute deduplicated events in one UTC clock minute of that day
    (which makes all of that ip's events that day bot traffic). fct_events and
    agg_event_quality_daily read it, each only the days of its own window.

    A history, not the last run's window: materialized window_replace on event_date, so a run
    replaces exactly its window and every other day keeps what earlier runs built. A reader run
    alone (one asset selected in the UI) then reads the same rows as in a full build; as a table
    re-created by every run it held only the previous run's window, and fct_events run alone
    inserted all of it (duplicates on every other day). Every value of a row depends only on the
    raw events of its own day (copies of an event share its event_time; flooding is per ip and
    day), so a day is the same whichever window rebuilt it.
    Materialized, not a view: the dedup and flood aggregation dominate, and a view evaluates them
    once per reader. SF 1 x 90 days, DuckDB capped at 2GB: view 433 s, table 265 s for this model
    and both readers (BENCHMARKS.md); window_replace keeps that single evaluation. -#}
{{ config(materialized='window_replace') }}

with received as (
    select *, cast(event_time as date) as event_date
    from {{ ref('stg_app_events') }}
    where {{ ts_in_window('event_time') }}
),

{#- Duplicates are rare: rank only the copies of duplicated ids, pass the rest straight through. -#}
duplicated as (
    select event_id, count(*) as copies
    from received
    group by event_id
    having count(*) > 1
),

deduped as (
    select r.*, 1 as copies
    from received as r
    where r.event_id not in (select event_id from duplicated)
    union all
    select r.*, d.copies
    from received as r
    inner join duplicated as d on d.event_id = r.event_id
    qualify row_number() over (
        partition by r.event_id
        order by r.received_at, r.event_time, r.user_id, r.device_id, r.event_type, r.ip, r.user_agent
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

{#- The bot pattern is evaluated once per distinct user agent, not once per event. -#}
user_agents as (
    select
        user_agent,
        {{ regex_search('user_agent', metrics_var('bot_ua_regex', 'parse')) }} as is_bot_ua
    from (select distinct user_agent from deduped) as ua
),

flagged as (
    select
        e.*,
        coalesce(u.is_bot_ua, false) as is_bot_ua,
        f.ip is not null as is_flood_ip
    from deduped as e
    left join user_agents as u on u.user_agent = e.user_agent
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
    schema_version,
    copies,
    is_bot_ua,
    is_flood_ip,
    is_bot_ua or is_flood_ip as is_bot,
    event_type in {{ metrics_str_list(metrics_var('accepted_event_types', ['parse'])) }} as is_accepted_type,
    not (is_bot_ua or is_flood_ip) and user_id is not null as is_counted
from flagged
