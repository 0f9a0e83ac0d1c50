"""Outlook's two id types: regular ids, which change when an item moves to another folder, and immutable ids
(``Prefer: IdType="ImmutableId"``), which stay for the item's life in its mailbox.

Graph gives messages, their attachments, events, event attachments and contacts either type, per request; folders
and calendars have one id whatever is asked. A sync asks every Outlook request (each one inside ``$batch`` too) for
the database's id type (:mod:`o365_pipeline.outlook_ids` keeps it), so one table never holds both.
"""

from __future__ import annotations

from typing import Literal

from .entities import Entity

IdType = Literal["immutable", "regular"]
IMMUTABLE: IdType = "immutable"
REGULAR: IdType = "regular"
ID_TYPES: tuple[IdType, ...] = (IMMUTABLE, REGULAR)
PREFER_IMMUTABLE = 'IdType="ImmutableId"'  # Graph's preference, merged into one Prefer header with the others


def preferences(entity: Entity, id_type: IdType) -> tuple[str, ...]:
    """What an entity's requests add to their Prefer header for ``id_type``: immutable ids for Outlook entities."""
    return (PREFER_IMMUTABLE,) if entity.outlook and id_type == IMMUTABLE else ()
