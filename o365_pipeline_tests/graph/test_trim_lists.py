"""Credential lists keep their ids and dates only: whatever else Graph sends in them is never stored."""

from o365_pipeline.graph.entities import ENTITIES
from o365_pipeline.graph.readers import trim_lists


def test_credentials_keep_ids_and_dates_and_nothing_secret_like() -> None:
    secret = {
        "keyId": "k1",
        "displayName": "CI",
        "startDateTime": "2026-01-01T00:00:00Z",
        "endDateTime": "2026-11-10T00:00:00Z",
        "hint": "Q~1",
        "secretText": "Q~1secret",
        "customKeyIdentifier": None,
    }
    certificate = {"keyId": "c1", "endDateTime": "2027-01-01T00:00:00Z", "key": "MIIDbytes", "usage": "Verify"}
    rows = trim_lists(
        ENTITIES["applications"],
        [
            {"id": "a", "passwordCredentials": [secret, "not an object"], "keyCredentials": [certificate]},
            {"id": "b", "passwordCredentials": "Q~1secret", "keyCredentials": None},
            {"id": "c", "displayName": "partial update"},
        ],
    )
    assert rows[0]["passwordCredentials"] == [
        {
            "keyId": "k1",
            "displayName": "CI",
            "startDateTime": "2026-01-01T00:00:00Z",
            "endDateTime": "2026-11-10T00:00:00Z",
        }
    ]
    assert rows[0]["keyCredentials"] == [
        {
            "keyId": "c1",
            "displayName": None,
            "startDateTime": None,
            "endDateTime": "2027-01-01T00:00:00Z",
            "type": None,
            "usage": "Verify",
        }
    ]
    assert rows[1]["passwordCredentials"] is None and rows[1]["keyCredentials"] is None
    assert rows[2] == {"id": "c", "displayName": "partial update"}  # absent lists stay absent


def test_entities_without_list_keys_are_left_alone() -> None:
    row = {"id": "u", "assignedLicenses": [{"skuId": "s", "disabledPlans": []}]}
    assert trim_lists(ENTITIES["users"], [dict(row)]) == [row]
