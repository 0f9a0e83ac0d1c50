with

source as (

    select * from {{ source('graph', 'sign_ins') }}

),

renamed as (

    select
        -- ids
        id as sign_in_id,

        -- properties
        created_date_time as created_at,
        user_id,
        user_principal_name,
        app_display_name,
        app_id,
        ip_address,
        client_app_used,
        is_interactive,
        status__error_code as error_code,
        status__error_code = 0 as is_success,
        conditional_access_status,
        risk_level_during_sign_in,
        location__city as location_city,
        location__country_or_region as location_country_or_region,
        device_detail__operating_system as device_detail_operating_system,
        device_detail__browser as device_detail_browser

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
