"""The entity table: one row per raw table, driving the dlt resources, the Dagster assets and the probes.

Adding an entity is adding a row here (plus tests), not a module. Paths are Graph v1.0 paths relative to
``/v1.0`` exactly as Graph's documentation writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Strategy = Literal["delta", "cursor", "replace"]
DataType = Literal["text", "bool", "bigint", "double", "timestamp", "json"]


@dataclass(frozen=True)
class Entity:
    """How one Office 365 entity is read from Graph and stored.

    Attributes:
        name: raw table name (snake_case plural, CONTRACT section 4).
        path: the collection path (for delta entities, the delta function path).
        workload: Dagster asset group (directory, mail, calendar, files, ...).
        strategy: ``delta`` (deltaLink in dlt state), ``cursor`` (date ``$filter``) or ``replace``.
        select: properties for ``$select`` (empty: Graph's default set).
        columns: scalar properties with their types, declared up front so the raw table always has them
            (dlt creates no column for a property that is null on every row).
        item_path: path of one item (``{id}`` filled in): directory delta reports an update with only the
            changed properties, so such items are read again in full through ``$batch``.
        page_size: ``$top`` (or ``Prefer: odata.maxpagesize``) to ask for: the largest Graph allows.
        permission: least-privilege application permission that reads it.
        probe: a cheap path ``test-connection`` calls to prove access.
        description: one line shown in the Dagster UI.
    """

    name: str
    path: str
    workload: str
    strategy: Strategy
    permission: str
    probe: str
    description: str
    select: tuple[str, ...] = ()
    columns: Mapping[str, DataType] = field(default_factory=dict)
    item_path: str | None = None
    page_size: int | None = None


USER_COLUMNS: dict[str, DataType] = {
    "id": "text",
    "displayName": "text",
    "givenName": "text",
    "surname": "text",
    "userPrincipalName": "text",
    "mail": "text",
    "jobTitle": "text",
    "department": "text",
    "officeLocation": "text",
    "companyName": "text",
    "usageLocation": "text",
    "mobilePhone": "text",
    "accountEnabled": "bool",
    "userType": "text",
    "createdDateTime": "timestamp",
}

ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            name="users",
            path="users/delta",
            workload="directory",
            strategy="delta",
            permission="User.Read.All",
            probe="users?$top=1&$select=id",
            description="Every user of the tenant (members and guests), from users/delta.",
            columns=USER_COLUMNS,
            select=(*USER_COLUMNS, "businessPhones", "assignedLicenses"),
            item_path="users/{id}",
            page_size=999,
        ),
    )
}


def select_entities(names: tuple[str, ...] | list[str] = ()) -> list[Entity]:
    """The entities to sync: all of them, or the named ones (``O365_ENTITIES``) in table order.

    Raises:
        ValueError: naming ``O365_ENTITIES`` and the valid names when a name is unknown.
    """
    unknown = sorted(set(names) - set(ENTITIES))
    if unknown:
        raise ValueError(
            f"O365_ENTITIES: unknown entit{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
            f"valid: {', '.join(ENTITIES)}"
        )
    return [entity for name, entity in ENTITIES.items() if not names or name in names]
