"""Small pure helpers shared by the files, Planner, Teams, Bookings and audit workloads.

Deterministic ids and times derived from the seed, and the date-range `$filter` the audit logs
accept. No I/O here: generators and route modules call these.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Times are integers in 100 ns ticks since the Unix epoch: Graph writes 7 fractional digits.
TICKS_PER_SECOND = 10_000_000
# The tenant's "now" for generated history (deterministic, independent of the wall clock).
TENANT_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)

JsonDict = dict[str, Any]


def stable_int(*parts: object) -> int:
    """A 64-bit integer derived from ``parts`` (stable across runs and platforms)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def rng_for(*parts: object) -> random.Random:
    """A `random.Random` seeded from ``parts``: the same parts always give the same sequence."""
    return random.Random(stable_int(*parts))


def guid(*parts: object) -> str:
    """A GUID-formatted id derived from ``parts`` (Graph's id format for most directory-like objects)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def digest_bytes(n: int, *parts: object) -> bytes:
    """``n`` pseudo-random bytes derived from ``parts``."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(("\x1f".join(str(p) for p in parts) + f"#{counter}").encode()).digest()
        counter += 1
    return out[:n]


def b64url_id(n_bytes: int, *parts: object) -> str:
    """An unpadded base64url id of ``n_bytes`` derived bytes (Planner and drive ids look like this)."""
    return base64.urlsafe_b64encode(digest_bytes(n_bytes, *parts)).decode().rstrip("=")


def b64_id(prefix: bytes, n_bytes: int, *parts: object) -> str:
    """A padded standard-base64 id with a fixed binary prefix (Exchange ids such as ``AAQk...=``)."""
    return base64.b64encode(prefix + digest_bytes(n_bytes, *parts)).decode()


def ticks_of(moment: datetime) -> int:
    """Ticks (100 ns) since the Unix epoch for an aware datetime."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10


EPOCH_TICKS = ticks_of(TENANT_EPOCH)


def fmt_ticks(ticks: int, digits: int = 7) -> str:
    """Graph's ISO-8601 UTC form: ``2026-11-01T09:30:12.1234567Z`` (``digits`` fractional digits)."""
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    base = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    text = base.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{frac:07d}"[:digits]
    return text + "Z"


_DT_LITERAL = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:\d{2})?$"
)


def parse_datetime_ticks(text: str) -> int:
    """Ticks for an OData DateTimeOffset literal (``2026-11-01T00:00:00Z``, optional quotes/fraction/offset).

    Raises:
        ValueError: when ``text`` is not a date-time literal.
    """
    literal = text.strip().strip("'")
    match = _DT_LITERAL.match(literal)
    if not match:
        raise ValueError(f"not a DateTimeOffset literal: {text!r}")
    year, month, day, hour, minute, second, frac, zone = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    ticks = ticks_of(moment.replace(tzinfo=UTC) - offset)
    if frac:
        ticks += int(frac.ljust(7, "0"))
    return ticks


def upn_slug(upn: str) -> str:
    """The OneDrive personal-site slug of a UPN (``a.b@contoso.com`` -> ``a_b_contoso_com``)."""
    return re.sub(r"[^A-Za-z0-9]", "_", upn)


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds in ticks from a date `$filter` (None = open)."""

    low: int | None = None
    high: int | None = None

    def contains(self, ticks: int) -> bool:
        """True when ``ticks`` lies within the bounds."""
        return (self.low is None or ticks >= self.low) and (self.high is None or ticks <= self.high)

    def narrowed(self, high: int | None) -> TimeRange:
        """The same range with its upper bound lowered to ``high`` (if that is lower)."""
        if high is None or (self.high is not None and self.high <= high):
            return self
        return TimeRange(self.low, high)


_CLAUSE = re.compile(r"^\s*([A-Za-z/]+)\s+(ge|gt|le|lt|eq)\s+(\S+)\s*$", re.IGNORECASE)


def parse_time_filter(raw: str | None, prop: str) -> TimeRange:
    """Bounds from ``prop ge|gt|le|lt|eq <DateTimeOffset>`` clauses joined by ``and``.

    Raises:
        ValueError: for any other expression (the message says what is supported).
    """
    if raw is None or not raw.strip():
        return TimeRange()
    low: int | None = None
    high: int | None = None
    for clause in re.split(r"\s+and\s+", raw.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        try:
            if not match or match.group(1).lower() != prop.lower():
                raise ValueError(clause)
            value = parse_datetime_ticks(match.group(3))
        except ValueError:
            raise ValueError(
                f"Invalid filter clause '{clause.strip()}': this emulator supports "
                f"'{prop} ge|gt|le|lt|eq <DateTimeOffset>' joined by 'and'."
            ) from None
        op = match.group(2).lower()
        if op in ("ge", "gt", "eq"):
            bound = value + (1 if op == "gt" else 0)
            low = bound if low is None else max(low, bound)
        if op in ("le", "lt", "eq"):
            bound = value - (1 if op == "lt" else 0)
            high = bound if high is None else min(high, bound)
    return TimeRange(low, high)
