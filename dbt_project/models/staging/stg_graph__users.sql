with

source as (

    select * from {{ source('graph', 'users') }}

),

renamed as (

    select
        -- ids
        id as user_id,
        user_principal_name,
        mail,

        -- names and organisation
        display_name,
        given_name,
        surname,
        job_title,
        department,
        office_location,
        company_name,
        usage_location,
        mobile_phone,

        -- status
        cast(account_enabled as boolean) as is_account_enabled,
        user_type,
        created_date_time as created_at,
        _dlt_id as dlt_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
