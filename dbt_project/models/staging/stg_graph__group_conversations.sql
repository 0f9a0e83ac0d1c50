with

source as (

    select * from {{ source('graph', 'group_conversations') }}

),

renamed as (

    select
        -- ids
        id as conversation_id,

        -- properties
        group_id,
        topic,
        has_attachments,
        last_delivered_date_time as last_delivered_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
