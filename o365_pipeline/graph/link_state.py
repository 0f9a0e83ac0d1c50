"""The deltaLinks of a resource in its dlt state, kept as one compressed text.

A tenant has thousands of delta streams (one per mail or contact folder), each link several hundred characters:
kept as a plain mapping they made the pipeline state ~8 MB, which dlt decodes, hashes and rewrites about twenty
times a run. One zlib-compressed JSON text per resource holds the same links in a tenth of the room and is
written once per run. A state written before (a plain ``links`` mapping) is read as it is and rewritten
compressed.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping, MutableMapping
from typing import Any

import orjson

PLAIN_KEY = "links"  # the links as a mapping {stream key: deltaLink} (states written before)
PACKED_KEY = "links_z"  # base64 of the zlib-compressed JSON of that mapping


def pack(links: Mapping[str, str]) -> str:
    """The links as one compressed text (keys sorted, so equal links give equal text)."""
    return base64.b64encode(zlib.compress(orjson.dumps(links, option=orjson.OPT_SORT_KEYS))).decode("ascii")


def unpack(text: str) -> dict[str, str]:
    """The links from :func:`pack`'s text."""
    links: dict[str, str] = orjson.loads(zlib.decompress(base64.b64decode(text)))
    return links


def load_links(state: Mapping[str, Any]) -> dict[str, str]:
    """A resource's stored deltaLinks by stream key (empty when it has none yet)."""
    packed = state.get(PACKED_KEY)
    if packed:
        return unpack(packed)
    return dict(state.get(PLAIN_KEY) or {})


def store_links(state: MutableMapping[str, Any], links: Mapping[str, str]) -> None:
    """Keep ``links`` as the resource's deltaLinks (compressed; a plain mapping of an older state goes)."""
    state.pop(PLAIN_KEY, None)
    if links:
        state[PACKED_KEY] = pack(links)
    else:
        state.pop(PACKED_KEY, None)
