with

events as (

    select * from {{ ref('stg_graph__events') }}

),

attendees as (

    select * from {{ ref('stg_graph__events__attendees') }}

),

domains as (

    select domain_name from {{ ref('stg_graph__organization__verified_domains') }}

),

attendee_counts as (

    select
        event_key,
        count(*) as attendee_count,
        count(*) filter (where {{ email_domain('attendee_address') }} in (select domain_name from domains))
            as internal_attendee_count,
        count(*) filter (where {{ email_domain('attendee_address') }} not in (select domain_name from domains))
            as external_attendee_count
    from attendees
    group by event_key

),

-- One row per meeting: the organizer's copy (every attendee's calendar holds another copy of it).
final as (

    select
        events.event_key,
        events.event_id,
        events.ical_uid,
        events.user_id as organizer_user_id,
        lower(events.organizer_address) as organizer_address,
        events.subject,
        events.starts_at,
        events.ends_at,
        {{ dbt.datediff('events.starts_at', 'events.ends_at', 'minute') }} as duration_minutes,
        coalesce(attendee_counts.attendee_count, 0) as attendee_count,
        coalesce(attendee_counts.internal_attendee_count, 0) as internal_attendee_count,
        coalesce(attendee_counts.external_attendee_count, 0) as external_attendee_count,
        events.is_online_meeting,
        events.series_master_id is not null or events.event_type in ('occurrence', 'exception') as is_recurring,
        events.is_all_day,
        events.is_cancelled
    from events
    left join attendee_counts on events.event_key = attendee_counts.event_key
    where events.is_organizer
        and events.event_type <> 'seriesMaster'

)

select * from final
