with

source as (

    select * from {{ source('graph', 'group_members') }}

),

renamed as (

    select
        -- ids
        id as group_member_id,

        -- properties
        group_id,
        member_id,
        member_type

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
