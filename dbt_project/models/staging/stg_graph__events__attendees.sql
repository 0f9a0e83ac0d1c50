with

source as (

    select * from {{ graph_child_table('events', 'attendees') }}

),

events as (

    select event_key, user_id, event_id, dlt_id from {{ ref('stg_graph__events') }}

),

renamed as (

    select
        source._dlt_id as attendee_key,
        events.event_key,
        events.user_id,
        events.event_id,
        source.type as attendee_type,
        lower({{ json_text('source.email_address', 'address') }}) as attendee_address,
        {{ json_text('source.email_address', 'name') }} as attendee_name,
        {{ json_text('source.status', 'response') }} as response

    from source
    inner join events on source._dlt_parent_id = events.dlt_id

)

select * from renamed
