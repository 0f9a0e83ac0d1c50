with

source as (

    select * from {{ source('graph', 'groups') }}

),

renamed as (

    select
        -- ids
        id as group_id,

        -- properties
        display_name,
        description,
        mail,
        mail_enabled as is_mail_enabled,
        security_enabled as is_security_enabled,
        visibility,
        created_date_time as created_at,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
