with

source as (

    select * from {{ source('graph', 'applications') }}

),

renamed as (

    select
        -- ids
        id as application_id,
        app_id,

        -- description
        display_name,
        sign_in_audience,
        publisher_domain,
        created_date_time as created_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
