with

source as (

    select * from {{ source('graph', 'channel_members') }}

),

renamed as (

    select
        -- ids
        id as membership_id,
        team_id,
        channel_id,
        user_id,

        -- properties
        display_name,
        email,
        cast(roles as varchar) like '%"owner"%' as is_owner,
        cast(roles as varchar) like '%"guest"%' as is_guest,
        tenant_id

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
