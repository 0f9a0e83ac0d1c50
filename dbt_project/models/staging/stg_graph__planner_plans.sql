with

source as (

    select * from {{ source('graph', 'planner_plans') }}

),

renamed as (

    select
        -- ids
        id as plan_id,

        -- properties
        group_id,
        title,
        created_date_time as created_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
