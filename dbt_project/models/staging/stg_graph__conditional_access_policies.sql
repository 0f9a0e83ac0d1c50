with

source as (

    select * from {{ source('graph', 'conditional_access_policies') }}

),

renamed as (

    select
        -- ids
        id as policy_id,
        template_id,

        -- properties
        display_name,
        state,
        state = 'enabled' as is_enforced,
        state = 'enabledForReportingButNotEnforced' as is_report_only,
        conditions,
        grant_controls,
        session_controls,
        created_date_time as created_at,
        modified_date_time as modified_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
