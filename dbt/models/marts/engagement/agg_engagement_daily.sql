{#- Daily engagement for investors: DAU, WAU (days d-6..d), MAU (d-29..d), stickiness = DAU / MAU,
    sessions starting on d, sessions per DAU and their mean length. WAU and MAU are running sums
    over each user's active days: an active day a adds the user from a until the earlier of a + N
    and the user's next active day, so no user is counted twice and no per-day rescans are needed. -#}
{{ config(materialized='window_replace') }}

{%- set w = metrics_window(config) %}
{%- set wau = var('wau_days') | int %}
{%- set mau = var('mau_days') | int %}

with spine as (
    {{ date_spine(w['start'], w['end'], 'day') }}
),

user_days as (
    select distinct user_id, event_date
    from {{ ref('fct_events') }}
    where {{ in_window('event_date', days_before=mau - 1) }}
),

with_next as (
    select
        user_id,
        event_date,
        lead(event_date) over (partition by user_id order by event_date) as next_date
    from user_days
),

moves as (
    select event_date as day, 1 as dau, 1 as wau_move, 1 as mau_move from with_next
    union all
    select least({{ add_days('event_date', wau) }}, coalesce(next_date, {{ add_days('event_date', wau) }})) as day,
           0 as dau, -1 as wau_move, 0 as mau_move
    from with_next
    union all
    select least({{ add_days('event_date', mau) }}, coalesce(next_date, {{ add_days('event_date', mau) }})) as day,
           0 as dau, 0 as wau_move, -1 as mau_move
    from with_next
    union all
    select day, 0 as dau, 0 as wau_move, 0 as mau_move from spine
),

running as (
    select
        day,
        sum(dau) as dau,
        sum(sum(wau_move)) over (order by day rows between unbounded preceding and current row) as wau,
        sum(sum(mau_move)) over (order by day rows between unbounded preceding and current row) as mau
    from moves
    group by day
),

sessions as (
    select
        session_date as day,
        count(*) as sessions,
        -- exact decimal sum: a float sum depends on thread order and breaks re-run checksums
        round(sum(cast(length_seconds as decimal(18, 3))) / count(*), 3) as avg_session_seconds
    from {{ ref('fct_sessions') }}
    where {{ in_window('session_date') }}
    group by session_date
)

select
    s.day,
    cast(coalesce(r.dau, 0) as {{ dbt.type_bigint() }}) as dau,
    cast(coalesce(r.wau, 0) as {{ dbt.type_bigint() }}) as wau,
    cast(coalesce(r.mau, 0) as {{ dbt.type_bigint() }}) as mau,
    {{ safe_ratio('r.dau', 'r.mau') }} as stickiness,
    coalesce(x.sessions, 0) as sessions,
    {{ safe_ratio('x.sessions', 'r.dau') }} as sessions_per_user,
    x.avg_session_seconds,
    {{ metrics_version_columns() }}
from spine as s
left join running as r on r.day = s.day
left join sessions as x on x.day = s.day
where s.day >= (select min(event_date) from {{ ref('fct_events') }})
