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

users as (

    select user_id, lower(mail) as mail from {{ ref('stg_graph__users') }}
    where mail is not null

),

-- Every attendee's calendar holds a copy of a meeting, all with the same iCalUId (one per occurrence):
-- keep one copy per meeting, the organizer's when it was synced.
copies as (

    select
        *,
        row_number() over (
            partition by coalesce(ical_uid, event_key)
            order by case when is_organizer then 0 else 1 end, event_key
        ) as copy_rank
    from events
    where event_type <> 'seriesMaster'

),

final as (

    select
        copies.event_key,
        copies.event_id,
        copies.ical_uid,
        copies.user_id as calendar_user_id,
        users.user_id as organizer_user_id,
        lower(copies.organizer_address) as organizer_address,
        copies.subject,
        copies.starts_at,
        copies.ends_at,
        {{ dbt.datediff('copies.starts_at', 'copies.ends_at', 'minute') }} as duration_minutes,
        coalesce(attendee_counts.attendee_count, 0) as attendee_count,
        coalesce(attendee_counts.internal_attendee_count, 0) as internal_attendee_count,
        coalesce(attendee_counts.external_attendee_count, 0) as external_attendee_count,
        copies.is_online_meeting,
        copies.series_master_id is not null or copies.event_type in ('occurrence', 'exception') as is_recurring,
        copies.is_all_day,
        copies.is_cancelled
    from copies
    left join attendee_counts on copies.event_key = attendee_counts.event_key
    left join users on lower(copies.organizer_address) = users.mail
    where copies.copy_rank = 1

)

select * from final
