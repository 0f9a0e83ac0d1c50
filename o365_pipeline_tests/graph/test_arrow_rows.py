"""The Arrow fast path: fixed schemas per big entity, rows converted the way dlt's normalizer named them."""

import datetime as dt

import orjson
import pyarrow as pa
import pytest

from o365_pipeline.graph.arrow_rows import LAYOUTS, TypeMismatch, column_name
from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.graph.source import column_hints

UTC = dt.UTC


def test_every_declared_and_selected_property_has_a_column() -> None:
    for name, layout in LAYOUTS.items():
        entity = ENTITIES[name]
        columns = {c.name for c in layout.columns}
        for prop in entity.columns:
            assert column_name(prop) in columns, f"{name}.{prop}"
        for prop in entity.select:  # kept whole or through some of its properties (``from.emailAddress``)
            assert any(c.path[0] == prop for c in layout.columns), f"{name}.{prop}"
        assert {"id", "is_deleted", "sync_seq"} <= columns


def test_a_message_page_becomes_one_typed_table() -> None:
    items = [
        {
            "id": "m1",
            "user_id": "u1",
            "subject": "hello",
            "receivedDateTime": "2026-11-27T10:00:00Z",
            "isRead": True,
            "flag": {"flagStatus": "flagged"},
            "from": {"emailAddress": {"name": "Ann", "address": "ann@contoso.com"}},
            "toRecipients": [{"emailAddress": {"address": "bob@contoso.com"}}],
            "categories": ["Red"],
            "is_deleted": False,
        },
        {"id": "m2", "user_id": "u1", "is_deleted": True},  # a removal keeps only its key
    ]
    table = LAYOUTS["messages"].table(items, 40)
    assert table.num_rows == 2
    rows = table.to_pylist()
    assert rows[0]["flag__flag_status"] == "flagged"
    assert orjson.loads(rows[0]["from__email_address"]) == {"name": "Ann", "address": "ann@contoso.com"}
    assert orjson.loads(rows[0]["to_recipients"]) == [{"emailAddress": {"address": "bob@contoso.com"}}]
    assert rows[0]["received_date_time"] == dt.datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert [r["sync_seq"] for r in rows] == [40, 41]
    assert rows[1]["is_deleted"] is True and rows[1]["subject"] is None
    assert table.schema.field("id").nullable is False


def test_timestamps_with_seven_digits_without_zone_and_mixed_are_utc() -> None:
    events = LAYOUTS["events"]
    items = [
        {"id": "e1", "start": {"dateTime": "2027-09-07T07:00:00.1234567", "timeZone": "UTC"}},
        {"id": "e2", "start": {"dateTime": "2027-09-07T08:00:00Z"}},
        {"id": "e3", "responseStatus": {"time": "0001-01-01T00:00:00Z"}},
    ]
    rows = events.table(items, 0).to_pylist()
    assert rows[0]["start__date_time"] == dt.datetime(2027, 9, 7, 7, 0, 0, 123456, tzinfo=UTC)
    assert rows[1]["start__date_time"] == dt.datetime(2027, 9, 7, 8, tzinfo=UTC)
    assert rows[2]["response_status__time"] == dt.datetime(1, 1, 1, tzinfo=UTC)


def test_text_takes_any_value_and_a_typed_column_refuses_another_type() -> None:
    rows = LAYOUTS["drive_items"].table([{"id": "d1", "name": 7}], 0).to_pylist()
    assert rows[0]["name"] == "7"
    with pytest.raises(TypeMismatch) as raised:
        LAYOUTS["drive_items"].table([{"id": "d1", "size": 12}, {"id": "d2", "size": "big"}], 0)
    assert (raised.value.column, raised.value.stored, raised.value.sent) == ("size", "bigint", "text")


def test_stored_rows_are_read_by_column_name() -> None:
    stored = [{"id": "m9", "user_id": "u1", "parent_folder_id": "f1", "is_deleted": True}]
    table = LAYOUTS["messages"].table(stored, 5, stored=True)
    assert table.to_pylist()[0] == {
        **{field.name: None for field in table.schema},
        "id": "m9",
        "user_id": "u1",
        "parent_folder_id": "f1",
        "is_deleted": True,
        "sync_seq": 5,
    }


def test_hints_match_the_arrow_schema_and_keep_merge_semantics() -> None:
    hints = column_hints(ENTITIES["messages"])
    assert hints["to_recipients"]["data_type"] == "json"  # arrives as its text, stored as JSON
    assert hints["received_date_time"]["data_type"] == "timestamp"
    assert hints["is_deleted"]["hard_delete"] is True
    assert hints["sync_seq"]["dedup_sort"] == "desc"
    assert pa.types.is_timestamp(LAYOUTS["messages"].schema.field("received_date_time").type)
