import re
from typing import get_args

import pytest

from o365_pipeline.graph.entities import (
    CHANNEL,
    ENTITIES,
    MAILBOX,
    PARENT_KINDS,
    TENANT,
    ReaderName,
    select_entities,
)
from o365_pipeline.graph.readers import READERS, _params, delta_headers
from o365_pipeline.graph.source import EntityProgress, column_hints
from o365_pipeline.progress import entity_line

CHANNEL_TABLES = {"channel_messages", "channel_message_replies", "channel_members"}
MAILBOX_TABLES = {
    "mail_folders",
    "messages",
    "message_attachments",
    "calendars",
    "events",
    "event_attachments",
    "event_series_masters",
    "contact_folders",
    "contacts",
    "drive_items",
}


def test_all_entities_by_default_in_table_order() -> None:
    assert [e.name for e in select_entities()] == list(ENTITIES)


def test_unknown_entity_names_the_setting_and_the_valid_names() -> None:
    with pytest.raises(ValueError, match=r"O365_ENTITIES: unknown entity nope; valid: users"):
        select_entities(("users", "nope"))


def test_column_hints_are_snake_case_with_the_hard_delete_flag() -> None:
    hints = column_hints(ENTITIES["users"])
    assert hints["user_principal_name"]["data_type"] == "text"
    assert hints["created_date_time"]["data_type"] == "timestamp"
    assert hints["is_deleted"]["hard_delete"] is True
    assert hints["sync_seq"]["dedup_sort"] == "desc"
    assert "id" not in hints  # the primary key stays non-nullable


def test_each_entity_fans_out_over_the_parent_its_path_names_first() -> None:
    for entity in ENTITIES.values():
        placeholders = re.findall(r"{(\w+)}", entity.path)
        assert entity.over in PARENT_KINDS, entity.name
        assert (placeholders[0] if placeholders else None) == entity.over.placeholder, entity.name


def test_mailbox_tables_are_keyed_per_mailbox_channel_tables_per_channel_and_the_others_by_id() -> None:
    assert {name for name, entity in ENTITIES.items() if entity.over is MAILBOX} == MAILBOX_TABLES
    assert {name for name, entity in ENTITIES.items() if entity.over is CHANNEL} == CHANNEL_TABLES
    for name, entity in ENTITIES.items():
        assert entity.per_user == (name in MAILBOX_TABLES)
        expected = ("user_id", "id") if name in MAILBOX_TABLES else ("id",)
        if name in CHANNEL_TABLES:  # Graph's message ids are unique per channel only
            expected = ("team_id", "channel_id", "id")
        assert entity.key_columns == expected, name


def test_progress_counts_each_entity_in_its_parents_unit() -> None:
    units = {name: entity.progress_unit for name, entity in ENTITIES.items() if entity.progress_unit}
    expected = {name: "mailboxes" for name in MAILBOX_TABLES}
    expected |= {"planner_plans": "groups", "group_conversations": "groups", "planner_tasks": "plans"}
    expected |= {"channels": "teams", "team_members": "teams"}
    expected |= {name: "sites" for name in ("site_lists", "list_items", "site_drives")} | {"library_items": "drives"}
    expected |= {name: "channels" for name in CHANNEL_TABLES}
    bookings = [name for name in ENTITIES if name.startswith("booking_") and name != "booking_businesses"]
    expected |= {name: "businesses" for name in bookings}
    assert units == expected
    figures = EntityProgress(10, 4, 4, 3, 8, 2.0, True, False)
    assert entity_line("planner_tasks", figures) == "planner_tasks: 3/8 plans, 10 rows, 4 requests, 2.0 req/s, 2.0 s"
    assert entity_line("users", figures) == "users: 10 rows, 4 requests, 2.0 req/s, 2.0 s"


def test_a_child_table_names_its_parent_row_in_its_path_and_columns() -> None:
    for entity in ENTITIES.values():
        if entity.parent is None:
            assert entity.parent_column is None, entity.name
            continue
        assert entity.parent_column and f"{{{entity.parent_column}}}" in entity.path, entity.name
        assert entity.parent_column in entity.layout, entity.name
        assert ENTITIES[entity.parent].over is entity.over, entity.name
    assert TENANT.key_columns == ("id",)


def test_the_outlook_delta_functions_ask_their_page_size_by_prefer_the_others_by_top() -> None:
    prefer = {name for name, entity in ENTITIES.items() if delta_headers(entity)}
    assert prefer == {"messages", "events"}
    assert delta_headers(ENTITIES["messages"]) == {"Prefer": "odata.maxpagesize=1000"}
    assert "$top" not in _params(ENTITIES["messages"])
    assert _params(ENTITIES["users"])["$top"] == "999"
    for entity in ENTITIES.values():  # a declared page size is asked, one way only
        asked = ("$top" in _params(entity)) + bool(delta_headers(entity))
        assert asked == (1 if entity.page_size else 0), entity.name


def test_an_entity_read_folder_by_folder_names_its_folder_table() -> None:
    folders = {name: entity.folder_table for name, entity in ENTITIES.items() if entity.folder_table}
    assert folders == {"messages": "mail_folders", "contacts": "contact_folders"}
    for entity in ENTITIES.values():
        assert entity.per_folder == ("{folder_id}" in entity.path), entity.name
        if entity.folder_table:
            assert ENTITIES[entity.folder_table].path.endswith("Folders/delta"), entity.name
            assert ENTITIES[entity.folder_table].over is entity.over, entity.name


def test_every_reader_name_is_a_reader_and_every_reader_is_used() -> None:
    assert set(get_args(ReaderName)) == set(READERS) >= {entity.reader for entity in ENTITIES.values()}
    # every reader function reads some entity (older names of parent_list are kept for rows still using them)
    assert {READERS[entity.reader] for entity in ENTITIES.values()} == set(READERS.values())
