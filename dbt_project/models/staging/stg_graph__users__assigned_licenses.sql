with

source as (

    select * from {{ graph_child_table('users', 'assigned_licenses') }}

),

users as (

    select user_id, dlt_id from {{ ref('stg_graph__users') }}

),

renamed as (

    select
        users.user_id || '/' || source.sku_id as assignment_key,
        users.user_id,
        source.sku_id

    from source
    inner join users on source._dlt_parent_id = users.dlt_id

)

select * from renamed
