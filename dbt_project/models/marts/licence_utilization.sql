with

skus as (

    select * from {{ ref('stg_graph__subscribed_skus') }}

),

assigned as (

    select * from {{ ref('stg_graph__users__assigned_licenses') }}

),

users as (

    select user_id, is_account_enabled, last_sign_in_at from {{ ref('users') }}

),

-- Active = assigned to an enabled account that signed in within the last `activity_days` days.
per_sku as (

    select
        assigned.sku_id,
        count(*) as assigned_users,
        count(*) filter (
            where users.is_account_enabled
                and users.last_sign_in_at >= {{ activity_as_of() }} - interval '{{ var("activity_days") }} days'
        ) as active_users
    from assigned
    inner join users on assigned.user_id = users.user_id
    group by assigned.sku_id

),

final as (

    select
        skus.sku_id,
        skus.sku_part_number,
        skus.capability_status,
        coalesce(skus.enabled_units, 0) as purchased_units,
        skus.consumed_units,
        coalesce(per_sku.assigned_users, 0) as assigned_users,
        coalesce(per_sku.active_users, 0) as active_users,
        coalesce(skus.enabled_units, 0) - coalesce(per_sku.assigned_users, 0) as unassigned_units,
        case
            when coalesce(skus.enabled_units, 0) > 0
                then round(100.0 * coalesce(per_sku.active_users, 0) / skus.enabled_units, 1)
        end as active_pct_of_purchased
    from skus
    left join per_sku on skus.sku_id = per_sku.sku_id

)

select * from final
