with

source as (

    select * from {{ source('graph', 'calendars') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as calendar_key,
        id as calendar_id,
        user_id,

        -- properties
        name,
        color,
        is_default_calendar,
        can_edit,
        can_share,
        owner__address as owner_address,
        default_online_meeting_provider

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
