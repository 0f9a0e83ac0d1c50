with

source as (

    select * from {{ source('graph', 'organization') }}

),

renamed as (

    select
        -- ids
        id as organization_id,

        -- properties
        display_name,
        city,
        country_letter_code,
        tenant_type,
        created_date_time as created_at,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
