with

source as (

    select * from {{ source('graph', 'messages') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as message_key,
        id as message_id,
        user_id,

        -- properties
        subject,
        parent_folder_id as mail_folder_id,
        conversation_id,
        internet_message_id,
        received_date_time as received_at,
        sent_date_time as sent_at,
        has_attachments,
        importance,
        is_read,
        is_draft,
        flag__flag_status as flag_status,
        {{ json_text('from__email_address', 'address') }} as from_address,
        {{ json_text('from__email_address', 'name') }} as from_name,
        last_modified_date_time as last_modified_at,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
