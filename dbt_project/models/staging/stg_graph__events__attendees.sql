-- depends_on: {{ ref('stg_graph__events') }} (attendees of staged events only; keeps the lineage)
with

source as (

    select * from {{ source('graph', 'events') }}
    where not coalesce(is_deleted, false)

),

attendees as (

    -- one row per list entry (the list is a JSON column of the raw table), with its position
    select user_id, id, {{ json_positions('attendees') }} as position, {{ json_entries('attendees') }} as attendee
    from source

),

renamed as (

    select
        user_id || '/' || id || '/' || position as attendee_key,
        user_id || '/' || id as event_key,
        user_id,
        id as event_id,
        {{ json_text('attendee', 'type') }} as attendee_type,
        lower({{ json_text(json_get('attendee', 'emailAddress'), 'address') }}) as attendee_address,
        {{ json_text(json_get('attendee', 'emailAddress'), 'name') }} as attendee_name,
        {{ json_text(json_get('attendee', 'status'), 'response') }} as response

    from attendees

)

select * from renamed
