import pytest

from o365_pipeline.graph.entities import ENTITIES, select_entities
from o365_pipeline.graph.source import column_hints


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
