with

-- Every user's own calendar copy of the meetings they are in (organized or attended); cancelled,
-- all-day and free-time entries do not load anybody.
events as (

    select * from {{ ref('stg_graph__events') }}
    where not is_cancelled
        and not is_all_day
        and coalesce(show_as, 'busy') <> 'free'
        and event_type <> 'seriesMaster'

),

final as (

    select
        user_id || '/' || cast(cast({{ dbt.date_trunc('week', 'starts_at') }} as date) as varchar) as load_key,
        user_id,
        cast({{ dbt.date_trunc('week', 'starts_at') }} as date) as week_start,
        count(*) as meeting_count,
        count(*) filter (where is_organizer) as organized_count,
        count(*) filter (where is_online_meeting) as online_meeting_count,
        count(*) filter (where series_master_id is not null or event_type in ('occurrence', 'exception'))
            as recurring_meeting_count,
        {{ round_float("sum(" ~ dbt.datediff('starts_at', 'ends_at', 'minute') ~ ") / 60.0", 2) }} as meeting_hours
    from events
    group by user_id, cast({{ dbt.date_trunc('week', 'starts_at') }} as date)

)

select * from final
