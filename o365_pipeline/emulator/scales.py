"""Tenant sizes. Per-mailbox figures are averages; actual counts vary per user around them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """How big the seeded tenant is."""

    name: str
    users: int
    groups: int
    messages_per_mailbox: int
    events_per_mailbox: int  # single events; recurring series add occurrences on top
    series_per_mailbox: int
    contacts_per_mailbox: int
    directory_delta_page: int  # page size of users/groups delta rounds
    member_chunk: int  # members@delta entries per group object in a delta page


SCALES: dict[str, Scale] = {
    "small": Scale("small", 20, 7, 24, 6, 2, 6, 8, 10),
    "bench": Scale("bench", 500, 60, 246, 50, 2, 26, 100, 20),
    "large": Scale("large", 5000, 400, 250, 50, 2, 26, 100, 20),
}


def get_scale(name: str) -> Scale:
    """Look a scale up by name; unknown names raise ValueError naming --scale."""
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"--scale: unknown scale {name!r}; use one of {', '.join(SCALES)}") from None
