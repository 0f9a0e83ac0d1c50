with

source as (

    select * from {{ source('graph', 'message_attachments') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as attachment_key,
        id as attachment_id,
        user_id,

        -- properties
        message_id,
        name,
        content_type,
        size as size_bytes,
        is_inline,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
