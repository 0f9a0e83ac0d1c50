with

source as (

    select * from {{ graph_child_table('groups', 'group_types') }}

),

groups as (

    select group_id, dlt_id from {{ ref('stg_graph__groups') }}

),

renamed as (

    select
        groups.group_id || '/' || source.value as group_type_key,
        groups.group_id,
        source.value as group_type

    from source
    inner join groups on source._dlt_parent_id = groups.dlt_id

)

select * from renamed
