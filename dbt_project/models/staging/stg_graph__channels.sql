with

source as (

    select * from {{ source('graph', 'channels') }}

),

renamed as (

    select
        -- ids
        id as channel_id,

        -- properties
        team_id,
        display_name,
        description,
        membership_type,
        email,
        web_url,
        created_date_time as created_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
