"""Fault injection, request statistics and Graph-like throttling (scaled down to seconds)."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("429", "503", "504", "reset", "truncate", "expire_delta", "expire_token", "retry_after_date")


def parse_faults(spec: str) -> dict[str, float]:
    """'429=0.05,503=0.02' or a JSON object -> rates; bad input raises ValueError naming --faults."""
    import json

    spec = spec.strip()
    if not spec:
        return {}
    try:
        if spec.startswith("{"):
            raw = {str(k): float(v) for k, v in json.loads(spec).items()}
        else:
            raw = {}
            for part in spec.split(","):
                k, v = part.split("=", 1) if "=" in part else part.split(":", 1)
                raw[k.strip()] = float(v)
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"--faults: cannot parse {spec!r}; use e.g. '429=0.05,503=0.02' or JSON") from exc
    return check_faults(raw)


def check_faults(raw: dict[str, Any]) -> dict[str, float]:
    """Validate fault rates (known kinds, 0..1)."""
    out: dict[str, float] = {}
    for k, v in raw.items():
        if k not in FAULT_KINDS:
            raise ValueError(f"--faults: unknown fault {k!r}; known: {', '.join(FAULT_KINDS)}")
        f = float(v)
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"--faults: rate of {k!r} must be between 0 and 1, got {v!r}")
        out[k] = f
    return out


class Faults:
    """Random fault decisions at configured rates (seeded, thread-safe)."""

    def __init__(self, rates: dict[str, float] | None = None, seed: int = 0) -> None:
        self.rates: dict[str, float] = check_faults(rates or {})
        self._rng = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()

    def set(self, rates: dict[str, Any]) -> None:
        """Replace the rates."""
        self.rates = check_faults(rates)

    def hit(self, kind: str) -> bool:
        """Draw: does this fault happen now?"""
        rate = self.rates.get(kind, 0.0)
        if rate <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def retry_after(self) -> str:
        """A fractional Retry-After value, as Graph sends for 429 (an HTTP date at the retry_after_date rate)."""
        with self._lock:
            secs = self._rng.uniform(0.05, 0.4)
        if self.hit("retry_after_date"):
            return email.utils.formatdate(time.time() + 1 + secs, usegmt=True)
        return f"{secs:.3f}"


class Stats:
    """Counters: requests by route and status, throttled answers, bytes sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.by_route: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            self.requests = 0
            self.throttled = 0
            self.faults: dict[str, int] = defaultdict(int)
            self.bytes_sent = 0
            self.started = time.time()
            self.latency_seconds = 0.0  # modelled Graph latency summed over answers (inner $batch ones included)
            self.latency_by_mailbox: dict[str, float] = defaultdict(float)

    def record(self, route: str, status: int, nbytes: int, throttled: bool = False) -> None:
        """Count one answered request."""
        with self._lock:
            self.requests += 1
            self.by_route[route][str(status)] += 1
            self.bytes_sent += nbytes
            if throttled:
                self.throttled += 1

    def delayed(self, mailbox: str | None, seconds: float) -> None:
        """Count one answer's modelled latency (per mailbox for Outlook routes)."""
        with self._lock:
            self.latency_seconds += seconds
            if mailbox:
                self.latency_by_mailbox[mailbox] += seconds

    def fault(self, kind: str) -> None:
        """Count an injected fault."""
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as JSON-able dict."""
        with self._lock:
            return {
                "requests": self.requests,
                "throttled": self.throttled,
                "bytes_sent": self.bytes_sent,
                "faults": dict(self.faults),
                "by_route": {r: dict(s) for r, s in sorted(self.by_route.items())},
                "seconds": round(time.time() - self.started, 3),
                "latency": {
                    "seconds": round(self.latency_seconds, 3),
                    "slowest_mailbox_seconds": round(max(self.latency_by_mailbox.values(), default=0.0), 3),
                    "by_mailbox": {m: round(s, 3) for m, s in sorted(self.latency_by_mailbox.items())},
                },
            }


@dataclass
class ThrottleConfig:
    """Limits per window (Graph's figures scaled down from 10 minutes / 10 seconds to `window_s`)."""

    window_s: float = 2.0
    outlook_concurrent: int = 4  # per mailbox
    outlook_requests: int = 60  # per mailbox per window
    directory_ru: int = 120  # resource units per window (users 2, members 3, $select saves 1)
    global_requests: int = 400  # per window, all routes
    extra: dict[str, Any] = field(default_factory=dict)


class Throttle:
    """Sliding-window counters and a per-mailbox concurrency gate.

    As Graph documents ("all requests accrue against your usage limits"), a throttled request still counts
    against its window. ``Retry-After`` is honest: the time until enough of the window has expired for the
    request to fit, counting the throttled request itself, so a client that waits that long gets through
    unless others spent the room meanwhile.
    """

    def __init__(self, enabled: bool, config: ThrottleConfig | None = None) -> None:
        self.enabled = enabled
        self.config = config or ThrottleConfig()
        self._lock = threading.Lock()
        self._windows: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._used: dict[str, int] = defaultdict(int)  # running sum of each window's costs
        self._inflight: dict[str, int] = defaultdict(int)

    def _spend(self, key: str, cost: int, limit: int, now: float) -> float:
        """Record cost against key; return seconds to wait if over limit (still counted), else 0."""
        win = self._windows[key]
        horizon = now - self.config.window_s
        while win and win[0][0] <= horizon:
            self._used[key] -= win.popleft()[1]
        over = self._used[key] + cost - limit
        win.append((now, cost))
        self._used[key] += cost
        if over <= 0:
            return 0.0
        # the throttled request is counted too: room for a retry of `cost` once `over + cost` has expired
        needed, freed = over + cost, 0
        for when, spent in win:
            freed += spent
            if freed >= needed:
                return max(0.001, when + self.config.window_s - now)
        return self.config.window_s

    def acquire(self, kind: str, mailbox: str | None, cost: int) -> tuple[float, bool]:
        """Check limits for one request. Returns (retry_after_seconds or 0, holds_concurrency_slot)."""
        if not self.enabled:
            return 0.0, False
        now = time.monotonic()
        c = self.config
        with self._lock:
            wait = self._spend("global", 1, c.global_requests, now)
            if kind == "outlook" and mailbox:
                if self._inflight[mailbox] >= c.outlook_concurrent:
                    return max(wait, 0.25), False
                wait = max(wait, self._spend(f"mbx:{mailbox}", 1, c.outlook_requests, now))
                if wait:
                    return wait, False
                self._inflight[mailbox] += 1
                return 0.0, True
            if kind == "directory":
                wait = max(wait, self._spend("ru", cost, c.directory_ru, now))
            return wait, False

    def release(self, mailbox: str) -> None:
        """Free a mailbox concurrency slot."""
        with self._lock:
            self._inflight[mailbox] = max(0, self._inflight[mailbox] - 1)
