{#- Sessions: a user id's counted events ordered by event_time, split where the gap to the previous
    event exceeds session_gap_minutes. A session belongs to the day of its first event; its length
    is last minus first event time in seconds. Events of the day before and after the window are
    read so sessions crossing midnight are whole (the day after exists once a later run built it;
    the window always reaches back at least one day, so that run restates the session). The
    session id is the user id and the id of the session's first event. -#}
{{ config(materialized='window_replace') }}

with events as (
    select user_id, event_id, event_time
    from {{ ref('fct_events') }}
    where {{ in_window('event_date', days_before=1, days_after=1) }}
),

marked as (
    select
        user_id,
        event_id,
        event_time,
        case
            when lag(event_time) over (partition by user_id order by event_time, event_id) is null then 1
            when event_time > {{ add_time('lag(event_time) over (partition by user_id order by event_time, event_id)',
                                          metrics_var('session_gap_minutes', 0) | int, 'minute') }} then 1
            else 0
        end as is_start
    from events
),

numbered as (
    select
        *,
        sum(is_start) over (partition by user_id order by event_time, event_id
                            rows between unbounded preceding and current row) as session_seq
    from marked
),

sessions as (
    select
        user_id,
        session_seq,
        max(case when is_start = 1 then event_id end) as first_event_id,
        min(event_time) as session_start,
        max(event_time) as session_end,
        count(*) as events
    from numbered
    group by user_id, session_seq
)

select
    cast(user_id as {{ dbt.type_string() }}) || '-' || first_event_id as session_id,
    user_id,
    cast(session_start as date) as session_date,
    session_start,
    session_end,
    {{ seconds_between('session_start', 'session_end') }} as length_seconds,
    events,
    {{ metrics_version_columns() }}
from sessions
where {{ in_window('cast(session_start as date)') }}
