{%- set day_start = var('room_day_start_hour', 9) | int -%}
{%- set day_end = var('room_day_end_hour', 17) | int -%}
with

events as (

    select * from {{ ref('stg_graph__events') }}
    where not is_cancelled
        and event_type <> 'seriesMaster'

),

rooms as (

    select * from {{ ref('stg_graph__rooms') }}

),

-- A meeting books a room when it invites the room's address as a resource attendee or names it as its
-- location (Outlook does both when a room is added); the room's own answer rides on the resource attendee.
room_refs as (

    select event_key, attendee_address as room_address, response
    from {{ ref('stg_graph__events__attendees') }}
    where attendee_type = 'resource'

    union all

    select event_key, location_address as room_address, cast(null as varchar) as response
    from events
    where location_address is not null

),

-- One row per room and meeting: every attendee's calendar holds a copy of the meeting, so copies are merged on
-- its iCalendar UID (one per occurrence); a booking the room declined (auto-decline on a conflict) holds nothing.
bookings as (

    select
        rooms.room_id,
        coalesce(events.ical_uid, events.event_key) as meeting_key,
        min(events.starts_at) as starts_at,
        max(events.ends_at) as ends_at,
        bool_or(events.is_all_day) as is_all_day
    from room_refs
    inner join events on events.event_key = room_refs.event_key
    inner join rooms on rooms.room_address = room_refs.room_address
    group by rooms.room_id, coalesce(events.ical_uid, events.event_key)
    having not bool_or(coalesce(room_refs.response, '') = 'declined')

),

-- The time each booking holds its room: an all-day booking holds the working day of each day it covers.
held as (

    select room_id, meeting_key, starts_at, ends_at
    from bookings
    where not is_all_day

    union all

    select
        room_id,
        meeting_key,
        days.day + interval '1 hour' * {{ day_start }} as starts_at,
        days.day + interval '1 hour' * {{ day_end }} as ends_at
    from bookings,
        generate_series(bookings.starts_at, bookings.ends_at - interval '1 day', interval '1 day') as days (day)
    where bookings.is_all_day

),

-- Each holding cut at ISO week boundaries (Monday 00:00 UTC), so a booking over a weekend counts in both weeks.
pieces as (

    select
        held.room_id,
        held.meeting_key,
        cast(weeks.week_start as date) as week_start,
        greatest(held.starts_at, weeks.week_start) as starts_at,
        least(held.ends_at, weeks.week_start + interval '7 days') as ends_at
    from held,
        generate_series({{ dbt.date_trunc('week', 'held.starts_at') }}, held.ends_at, interval '7 days')
            as weeks (week_start)
    where held.ends_at > held.starts_at

),

-- Overlapping bookings of a room hold it once: pieces are merged into islands of continuous use.
reach as (

    select
        *,
        max(ends_at) over (
            partition by room_id, week_start order by starts_at, ends_at
            rows between unbounded preceding and 1 preceding
        ) as held_until
    from pieces
    where ends_at > starts_at

),

islands as (

    select
        *,
        sum(case when held_until is null or starts_at > held_until then 1 else 0 end) over (
            partition by room_id, week_start order by starts_at, ends_at rows unbounded preceding
        ) as island
    from reach

),

merged as (

    select room_id, week_start, min(starts_at) as starts_at, max(ends_at) as ends_at
    from islands
    group by room_id, week_start, island

),

booked as (

    select
        room_id,
        week_start,
        sum({{ dbt.datediff('starts_at', 'ends_at', 'minute') }}) / 60.0 as booked_hours
    from merged
    group by room_id, week_start

),

meetings as (

    select room_id, week_start, count(distinct meeting_key) as booking_count
    from pieces
    where ends_at > starts_at
    group by room_id, week_start

),

final as (

    select
        rooms.room_id || '/' || cast(booked.week_start as varchar) as room_week_key,
        rooms.room_id,
        rooms.room_name,
        rooms.room_address,
        rooms.building,
        rooms.capacity,
        booked.week_start,
        meetings.booking_count,
        {{ round_float('booked.booked_hours', 2) }} as booked_hours,
        {{ 5 * (day_end - day_start) }} as working_hours,
        {{ round_float('booked.booked_hours / ' ~ (5 * (day_end - day_start)), 3) }} as share_of_working_hours
    from booked
    inner join meetings on meetings.room_id = booked.room_id and meetings.week_start = booked.week_start
    inner join rooms on rooms.room_id = booked.room_id

)

select * from final
