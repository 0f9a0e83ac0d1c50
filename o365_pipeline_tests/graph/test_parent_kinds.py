"""Each parent kind lists its own parents (through the sync's Tenant), so one reader serves every collection
read under a parent: a new kind is a ParentKind row with its lister, not a new reader."""

from __future__ import annotations

import pytest

from o365_pipeline.auth import O365Auth
from o365_pipeline.emulator import EmulatorServer
from o365_pipeline.graph.entities import ENTITIES, MAILBOX, TENANT
from o365_pipeline.graph.readers import READERS
from o365_pipeline.graph.tenant import Tenant
from o365_pipeline.sync import make_client
from o365_pipeline_tests.conftest import ids_digest, truth

PARENT_LIST = [entity for entity in ENTITIES.values() if entity.reader == "parent_list"]


def test_the_kinds_read_under_each_parent_list_the_parents_graph_has(
    o365_env: dict[str, str], emulator: EmulatorServer
) -> None:
    expected = truth(emulator)
    with make_client(O365Auth.from_env()) as client:
        tenant = Tenant(client)
        for entity in PARENT_LIST:
            parents = entity.over.parent_ids(tenant)
            assert parents and len(set(parents)) == len(parents), entity.name
            # the small tenant has rows under these parents: listing none would be a silent empty table
            assert expected[entity.name]["count"] > 0
        assert MAILBOX.parent_ids(tenant) == [user.id for user in tenant.users_for_content()]
        listed = {entity.over.name: entity.over.parent_ids(tenant) for entity in PARENT_LIST}
        with pytest.raises(ValueError, match="tenant"):
            TENANT.parent_ids(tenant)
    # the parents listed are exactly the rows of the parents' own tables
    for kind, table in (("plan", "planner_plans"), ("team", "teams"), ("business", "booking_businesses")):
        assert ids_digest(listed[kind]) == expected[table]["ids_sha256"], kind


def test_one_reader_reads_every_collection_under_a_parent_and_the_old_names_still_work() -> None:
    assert {entity.over.name for entity in PARENT_LIST} >= {"group", "plan", "team", "business"}
    for old in ("group_list", "plan_tasks", "team_list", "business_list"):
        assert READERS[old] is READERS["parent_list"], old
