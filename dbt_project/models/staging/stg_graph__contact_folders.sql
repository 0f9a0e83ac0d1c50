with

source as (

    select * from {{ source('graph', 'contact_folders') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as contact_folder_key,
        id as contact_folder_id,
        user_id,

        -- properties
        display_name,
        parent_folder_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
