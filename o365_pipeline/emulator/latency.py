"""Graph's response time: base + per item returned, with jitter, and 504 for answers too slow to finish.

Off by default. The model (sources in the emulator README):
- every Graph answer takes ``base_ms + items * per_item_ms`` (``per_item_full_ms`` for Outlook items asked
  without ``$select``: full messages, events and contacts carry their bodies), times a uniform factor in
  ``[1 - jitter, 1 + jitter]``;
- an answer whose modelled time exceeds ``timeout_ms`` becomes a 504 GatewayTimeout, sent after ``timeout_ms``
  (Graph's docs warn that pages of hundreds of full messages time out);
- inside ``$batch`` each request gets its own time; Graph runs them in parallel, but hands at most 4 at a time
  to Outlook, and a request waits for those it ``dependsOn``: the batch answers when its slowest finishes.

The delay is a sleep in the connection's own thread (the server runs a thread per connection), so concurrent
requests wait side by side, holding no CPU and no lock.
"""

from __future__ import annotations

import heapq
import random
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

OUTLOOK_BATCH_PARALLEL = 4  # requests of one $batch that Graph hands to Outlook at once


@dataclass(frozen=True)
class LatencyModel:
    """The latency settings (milliseconds); ``base_ms <= 0`` turns latency off."""

    base_ms: float = 0.0
    per_item_ms: float = 1.0
    per_item_full_ms: float = 5.0
    jitter: float = 0.3
    timeout_ms: float = 2500.0

    @property
    def enabled(self) -> bool:
        """Is any delay applied?"""
        return self.base_ms > 0

    def as_dict(self) -> dict[str, Any]:
        """The settings plus ``enabled``, as GET /_emulator/latency answers."""
        return {"enabled": self.enabled, **asdict(self)}


OFF = LatencyModel()
DEFAULT_ON = LatencyModel(base_ms=150.0)  # what `--latency 150ms+1ms/item` and POST {} give
_FIELDS = {f.name for f in fields(LatencyModel)}


def model_from_dict(body: dict[str, Any]) -> LatencyModel:
    """POST /_emulator/latency body -> model; absent fields take the documented defaults (base 150 ms)."""
    unknown = set(body) - _FIELDS
    if unknown:
        raise ValueError(f"latency: unknown setting {sorted(unknown)[0]!r}; known: {', '.join(sorted(_FIELDS))}")
    try:
        values = {k: float(v) for k, v in body.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"latency: settings must be numbers, got {body!r}") from exc
    return _checked(LatencyModel(**{**asdict(DEFAULT_ON), **values}))


def _checked(model: LatencyModel) -> LatencyModel:
    if not 0.0 <= model.jitter < 1.0:
        raise ValueError(f"latency: jitter must be in [0, 1), got {model.jitter}")
    if min(model.per_item_ms, model.per_item_full_ms) < 0 or model.timeout_ms <= 0:
        raise ValueError("latency: per-item times must be >= 0 and timeout_ms > 0")
    return model


_MS = r"(\d+(?:\.\d+)?)\s*(ms|s)"
_SPEC = re.compile(rf"^{_MS}(?:\s*\+\s*{_MS}\s*/\s*item)?$")
_SPEC_KEYS = {"jitter": "jitter", "full": "per_item_full_ms", "timeout": "timeout_ms"}


def _ms(number: str, unit: str) -> float:
    return float(number) * (1000.0 if unit == "s" else 1.0)


def parse_latency(spec: str) -> LatencyModel:
    """``150ms+1ms/item[,jitter=0.3][,full=5ms][,timeout=2.5s]`` (or ``off``/``0``) -> model.

    Bad input raises ValueError naming --latency.
    """
    spec = spec.strip()
    if spec in ("", "off", "0"):
        return OFF
    head, *options = [part.strip() for part in spec.split(",")]
    found = _SPEC.match(head)
    if found is None:
        raise ValueError(f"--latency: cannot parse {spec!r}; use e.g. '150ms+1ms/item' or '150ms+1ms/item,jitter=0.2'")
    values: dict[str, float] = {"base_ms": _ms(found[1], found[2])}
    if found[3]:
        values["per_item_ms"] = _ms(found[3], found[4])
    for option in options:
        key, _, raw = option.partition("=")
        name = _SPEC_KEYS.get(key.strip())
        if name is None:
            raise ValueError(f"--latency: unknown option {key.strip()!r}; known: {', '.join(_SPEC_KEYS)}")
        unit = re.fullmatch(rf"{_MS}(?:\s*/\s*item)?", raw.strip())
        try:
            values[name] = float(raw) if name == "jitter" else _ms(unit[1], unit[2]) if unit else float(raw)
        except ValueError as exc:
            raise ValueError(f"--latency: {key.strip()}={raw!r} is not a number") from exc
    try:
        return _checked(LatencyModel(**{**asdict(DEFAULT_ON), **values}))
    except ValueError as exc:
        raise ValueError(f"--{exc}") from exc


def items_in(status: int, body: bytes) -> int:
    """Items an answer returns: the ``value`` list's length, 1 for a single object, 0 for errors."""
    if status >= 300 or not body:
        return 0
    if b'"value":[' not in body:
        return 1
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 1
    value = doc.get("value") if isinstance(doc, dict) else None
    return len(value) if isinstance(value, list) else 1


class Latency:
    """The current model and its seeded jitter draws (thread-safe)."""

    def __init__(self, model: LatencyModel = OFF, seed: int = 0) -> None:
        self.model = model
        self._rng = random.Random(f"latency:{seed}")
        self._lock = threading.Lock()

    def set(self, model: LatencyModel) -> None:
        """Replace the model (from now on)."""
        self.model = model

    def seconds(self, items: int, selected: bool) -> float:
        """Modelled time of one answer with ``items`` items (0 when latency is off); ``selected=False``: full
        payloads, at ``per_item_full_ms``."""
        m = self.model
        if not m.enabled:
            return 0.0
        per_item = m.per_item_ms if selected else m.per_item_full_ms
        with self._lock:
            factor = self._rng.uniform(1.0 - m.jitter, 1.0 + m.jitter)
        return (m.base_ms + items * per_item) * factor / 1000.0

    def timed_out(self, seconds: float) -> bool:
        """Is an answer that would take ``seconds`` a gateway timeout?"""
        return self.model.enabled and seconds * 1000.0 > self.model.timeout_ms

    @property
    def timeout_seconds(self) -> float:
        """How long the gateway waits before answering 504."""
        return self.model.timeout_ms / 1000.0


def batch_seconds(inner: Sequence[tuple[float, bool, Sequence[int]]]) -> float:
    """When a ``$batch`` answers, given each inner request's (seconds, is_outlook, indexes it dependsOn).

    Requests start in order as soon as what they depend on has finished; Outlook ones take one of
    ``OUTLOOK_BATCH_PARALLEL`` lanes (the earliest free), the others run at once.
    """
    lanes = [0.0] * OUTLOOK_BATCH_PARALLEL
    ends: list[float] = []
    for seconds, outlook, depends in inner:
        start = max((ends[i] for i in depends), default=0.0)
        if outlook:
            start = max(start, heapq.heappop(lanes))
            heapq.heappush(lanes, start + seconds)
        ends.append(start + seconds)
    return max(ends, default=0.0)
