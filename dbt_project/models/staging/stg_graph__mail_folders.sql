with

source as (

    select * from {{ source('graph', 'mail_folders') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as mail_folder_key,
        id as mail_folder_id,
        user_id,

        -- properties
        display_name,
        parent_folder_id,
        total_item_count,
        unread_item_count,
        child_folder_count,
        is_hidden

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
