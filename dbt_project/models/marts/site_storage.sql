with

drives as (

    select * from {{ ref('stg_graph__site_drives') }}

),

items as (

    select * from {{ ref('stg_graph__library_items') }}

),

sites as (

    select * from {{ ref('stg_graph__sites') }}

),

groups as (

    select * from {{ ref('stg_graph__groups') }}

),

per_drive as (

    select
        drive_id,
        count(*) filter (where is_file) as file_count,
        count(*) filter (where not is_file) as folder_count,
        coalesce(sum(size_bytes) filter (where is_file), 0) as file_bytes,
        max(last_modified_at) filter (where is_file) as last_file_change_at
    from items
    group by drive_id

),

final as (

    select
        drives.drive_id,
        drives.site_id,
        drives.group_id,
        -- a group drive whose site was not read (Sites.Selected) is named after its group
        coalesce(sites.display_name, groups.display_name) as site_display_name,
        sites.web_url as site_url,
        drives.library_name,
        drives.group_id is not null as is_group_drive,
        coalesce(per_drive.file_count, 0) as file_count,
        coalesce(per_drive.folder_count, 0) as folder_count,
        coalesce(per_drive.file_bytes, 0) as file_bytes,
        drives.quota_used_bytes,
        per_drive.last_file_change_at,
        -- the later of a file change and a change of the library itself (settings, a deleted file)
        case
            when per_drive.last_file_change_at is null then drives.last_modified_at
            when drives.last_modified_at is null then per_drive.last_file_change_at
            when per_drive.last_file_change_at > drives.last_modified_at then per_drive.last_file_change_at
            else drives.last_modified_at
        end as last_activity_at
    from drives
    left join per_drive on per_drive.drive_id = drives.drive_id
    left join sites on sites.site_id = drives.site_id
    left join groups on groups.group_id = drives.group_id

)

select * from final
