with

source as (

    select * from {{ graph_child_table('organization', 'verified_domains') }}

),

organization as (

    select organization_id, dlt_id from {{ ref('stg_graph__organization') }}

),

renamed as (

    select
        lower(source.name) as domain_name,
        organization.organization_id,
        source.type as domain_type,
        source.is_default,
        source.is_initial

    from source
    inner join organization on source._dlt_parent_id = organization.dlt_id

)

select * from renamed
