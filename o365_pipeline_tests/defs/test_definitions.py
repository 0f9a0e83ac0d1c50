"""The one Definitions object loads, with the lineage raw -> staging -> marts the UI shows."""

import dagster as dg

from o365_pipeline.definitions import defs
from o365_pipeline.graph.entities import ENTITIES

GRAPH = defs.resolve_asset_graph()


def parents(key: str) -> set[str]:
    return {parent.to_user_string() for parent in GRAPH.get(dg.AssetKey.from_user_string(key)).parent_keys}


CHILD_STAGING = (
    "users__assigned_licenses",
    "groups__group_types",
    "messages__recipients",
    "events__attendees",
    "organization__verified_domains",
    "user_registration_details__methods",
    "app_credentials",  # the credential lists of applications and service_principals, unnested
)
MARTS = (
    "users",
    "group_memberships",
    "mailbox_activity_daily",
    "meetings",
    "meeting_load_weekly",
    "drive_storage",
    "licence_utilization",
    "stale_accounts",
    "site_storage",
    "mfa_coverage",
    "privileged_users",
    "app_credential_expiry",
    "m365_adoption_daily",
    "room_utilization",
)


def test_asset_keys_snapshot() -> None:
    keys = sorted(node.key.to_user_string() for node in GRAPH.asset_nodes)
    assert keys == sorted(
        [
            *(f"o365_raw/{name}" for name in ENTITIES),
            *(f"staging/stg_graph__{name}" for name in (*ENTITIES, *CHILD_STAGING)),
            *(f"marts/{name}" for name in MARTS),
        ]
    )


def test_every_staging_model_reads_its_raw_table() -> None:
    for name in ENTITIES:
        assert parents(f"staging/stg_graph__{name}") == {f"o365_raw/{name}"}


def test_dbt_models_hang_off_the_dlt_raw_tables() -> None:
    assert parents("staging/stg_graph__users") == {"o365_raw/users"}
    assert parents("marts/users") == {
        "staging/stg_graph__users",
        "staging/stg_graph__users__assigned_licenses",
        "staging/stg_graph__subscribed_skus",
        "staging/stg_graph__mail_folders",
        "staging/stg_graph__sign_ins",
        "marts/group_memberships",
    }


def test_dbt_tests_are_asset_checks() -> None:
    checks = {(key.asset_key.to_user_string(), key.name) for key in GRAPH.asset_check_keys}
    assert ("staging/stg_graph__users", "unique_stg_graph__users_user_id") in checks
    assert ("marts/users", "unique_users_user_id") in checks


def test_raw_assets_are_grouped_by_workload_and_kind() -> None:
    node = GRAPH.get(dg.AssetKey(["o365_raw", "users"]))
    assert node.group_name == "directory"
    assert {"dlt", "duckdb"} <= node.kinds
    assert GRAPH.get(dg.AssetKey(["marts", "users"])).group_name == "marts"
