"""First pages of the last run's deltaLinks, asked for while dlt is still restoring its state.

A no-change sync is one page per delta stream; dlt spends its first few tenths of a second restoring state and
schemas before any resource runs. The links the last run left in the local pipeline state are read before
that, and their first pages are fetched on background threads meanwhile. A reader takes a page only for a
stream whose link, as dlt restored it, is the very link that was asked (the same delta token): any other
stream (state restored from elsewhere, a link changed meanwhile) is read as it would be without this.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .client import GraphClient
from .entities import ENTITIES
from .link_state import load_links
from .readers import delta_headers, prefetch

log = logging.getLogger(__name__)


def stored_links(state: Mapping[str, Any], source: str = "o365") -> dict[str, dict[str, str]]:
    """Every resource's deltaLinks in a pipeline state (``pipeline.state``), by resource name."""
    resources: Mapping[str, Any] = state.get("sources", {}).get(source, {}).get("resources", {})
    found = {name: load_links(resource) for name, resource in resources.items() if name in ENTITIES}
    return {name: links for name, links in found.items() if links}


class EarlyPages:
    """First pages of ``links`` (per entity), fetched on one background thread per entity from construction on.

    ``client_for(entity)`` gives the client (view) whose counters the entity's requests belong to. A failed
    fetch is only logged: its streams are read as usual.
    """

    def __init__(
        self, links: Mapping[str, Mapping[str, str]], client_for: Callable[[str], GraphClient], workers: int = 8
    ) -> None:
        self._asked = {name: dict(entity_links) for name, entity_links in links.items()}
        self._pages: dict[str, dict[str, dict[str, Any]]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self.taken = 0  # pages handed to readers
        for name, entity_links in self._asked.items():
            client = client_for(name)
            thread = threading.Thread(
                target=self._fetch, args=(name, client, entity_links, workers), name=f"early-{name}", daemon=True
            )
            self._threads[name] = thread
            thread.start()

    def _fetch(self, name: str, client: GraphClient, links: dict[str, str], workers: int) -> None:
        try:
            self._pages[name] = prefetch(client, links, delta_headers(ENTITIES[name]), workers)
        except Exception as exc:  # an optimization only: the entity's reader asks again
            log.debug("%s: early first pages failed (%s); its streams ask themselves", name, exc)

    def take(self, name: str, links: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """The entity's first pages (waiting for them) of the streams whose link in ``links`` is the one asked;
        each page is handed out once."""
        thread = self._threads.pop(name, None)
        if thread is None:
            return {}
        thread.join()
        asked = self._asked.pop(name, {})
        pages = self._pages.pop(name, {})
        usable = {key: page for key, page in pages.items() if links.get(key) == asked.get(key)}
        self.taken += len(usable)
        return usable

    def close(self) -> None:
        """Wait for fetches no reader took (an entity not run): nothing runs on once the client closes."""
        for thread in self._threads.values():
            thread.join()
        self._threads.clear()
        self._pages.clear()
