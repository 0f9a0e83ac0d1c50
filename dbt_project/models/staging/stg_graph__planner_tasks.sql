with

source as (

    select * from {{ source('graph', 'planner_tasks') }}

),

renamed as (

    select
        -- ids
        id as task_id,

        -- properties
        plan_id,
        bucket_id,
        title,
        percent_complete,
        percent_complete = 100 as is_completed,
        priority,
        due_date_time as due_at,
        completed_date_time as completed_at,
        created_date_time as created_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
