with

source as (

    select * from {{ source('graph', 'teams') }}

),

renamed as (

    select
        -- ids
        id as team_id,

        -- properties
        display_name,
        description,
        visibility

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
