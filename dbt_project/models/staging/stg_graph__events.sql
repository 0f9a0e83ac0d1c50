with

source as (

    select * from {{ source('graph', 'events') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as event_key,
        id as event_id,
        user_id,

        -- properties
        subject,
        type as event_type,
        i_cal_u_id as ical_uid,
        series_master_id,
        start__date_time as starts_at,
        end__date_time as ends_at,
        is_all_day,
        is_cancelled,
        is_online_meeting,
        is_organizer,
        has_attachments,
        show_as,
        importance,
        sensitivity,
        {{ json_text('organizer__email_address', 'address') }} as organizer_address,
        {{ json_text('organizer__email_address', 'name') }} as organizer_name,
        location__display_name as location_name,
        lower(location__location_email_address) as location_address,
        response_status__response as response_status,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
