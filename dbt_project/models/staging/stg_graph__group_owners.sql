with

source as (

    select * from {{ source('graph', 'group_owners') }}

),

renamed as (

    select
        -- ids
        id as group_owner_id,

        -- properties
        group_id,
        owner_id,
        owner_type

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
