with

source as (

    select * from {{ source('graph', 'directory_audits') }}

),

renamed as (

    select
        -- ids
        id as audit_id,

        -- properties
        activity_date_time as activity_at,
        activity_display_name,
        category,
        result,
        result_reason,
        operation_type,
        logged_by_service,
        correlation_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
