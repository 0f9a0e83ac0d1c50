with

source as (

    select * from {{ source('graph', 'channel_message_replies') }}

),

renamed as (

    select
        -- ids (Graph's message ids are unique within a channel only)
        id as reply_id,
        channel_id || '/' || id as reply_key,
        team_id,
        channel_id,
        message_id,
        channel_id || '/' || message_id as message_key,

        -- properties
        message_type,
        subject,
        summary,
        importance,
        body__content_type as body_content_type,
        body__content as body_content,
        {{ json_text(json_get('"from"', 'user'), 'id') }} as from_user_id,
        {{ json_text(json_get('"from"', 'user'), 'displayName') }} as from_user_name,
        web_url,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at,
        last_edited_date_time as last_edited_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
