with

source as (

    select * from {{ source('graph', 'contacts') }}

),

renamed as (

    select
        -- ids (Graph ids are per mailbox: the key is user_id + id)
        user_id || '/' || id as contact_key,
        id as contact_id,
        user_id,

        -- properties
        display_name,
        given_name,
        surname,
        company_name,
        job_title,
        parent_folder_id as contact_folder_id,
        created_date_time as created_at,
        last_modified_date_time as last_modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
