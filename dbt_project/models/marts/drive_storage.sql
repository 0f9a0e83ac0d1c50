with

items as (

    select * from {{ ref('stg_graph__drive_items') }}

),

final as (

    select
        user_id,
        count(*) filter (where is_file) as file_count,
        count(*) filter (where not is_file) as folder_count,
        coalesce(sum(size_bytes) filter (where is_file), 0) as file_bytes,
        -- "anonymous" = anyone with the link; "users" = named people, who may be outside the tenant.
        count(*) filter (where is_file and shared_scope in ('anonymous', 'users')) as files_shared_externally,
        count(*) filter (where is_file and shared_scope = 'anonymous') as files_shared_anonymously,
        count(*) filter (where is_file and shared_scope = 'organization') as files_shared_in_organization,
        max(last_modified_at) filter (where is_file) as last_file_change_at
    from items
    group by user_id

)

select * from final
