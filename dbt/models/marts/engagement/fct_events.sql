{#- Counted events: deduplicated (first received copy), not bot traffic, with a user id; one row per
    event_id, on the UTC day of its event_time. Reads only its own window of the events history
    (window_replace deletes exactly that window), so it is right when run alone. -#}
{{ config(materialized='window_replace') }}

select
    event_id,
    user_id,
    device_id,
    session_hint,
    event_type,
    event_time,
    event_date,
    received_at,
    schema_version,
    {{ metrics_version_columns() }}
from {{ ref('int_app_events_window') }}
where {{ in_window('event_date') }}
  and is_counted
