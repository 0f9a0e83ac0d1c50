with recursive

members as (

    select group_id, member_id, member_type from {{ ref('stg_graph__group_members') }}

),

groups as (

    select group_id, display_name from {{ ref('stg_graph__groups') }}

),

users as (

    select user_id, user_principal_name, user_type from {{ ref('stg_graph__users') }}

),

-- Walk down from every group: its direct members, then the members of its member groups, and so on.
-- The path of groups walked stops cycles (group A in B in A).
walked (group_id, member_id, member_type, via_group_id, depth, group_path) as (

    select
        group_id,
        member_id,
        member_type,
        group_id,
        1,
        '/' || group_id || '/'
    from members

    union all

    select
        walked.group_id,
        members.member_id,
        members.member_type,
        members.group_id,
        walked.depth + 1,
        walked.group_path || members.group_id || '/'
    from walked
    inner join members on members.group_id = walked.member_id
    where walked.member_type = 'group'
        and walked.group_path not like '%/' || members.group_id || '/%'

),

-- One row per group and user: the shortest way in wins.
ranked as (

    select
        *,
        row_number() over (partition by group_id, member_id order by depth, via_group_id) as rank_in_group
    from walked
    where member_type = 'user'

),

final as (

    select
        ranked.group_id || '/' || ranked.member_id as membership_key,
        ranked.group_id,
        groups.display_name as group_name,
        ranked.member_id as user_id,
        users.user_principal_name,
        ranked.depth = 1 as is_direct,
        ranked.depth as nesting_depth,
        case when ranked.depth > 1 then ranked.via_group_id end as via_group_id,
        coalesce(users.user_type = 'Guest', false) as is_guest
    from ranked
    left join groups on ranked.group_id = groups.group_id
    left join users on ranked.member_id = users.user_id
    where ranked.rank_in_group = 1

)

select * from final
