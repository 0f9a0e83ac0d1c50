"""Progress of ``o365-pipeline sync``: redrawn in place on a terminal, plain periodic lines otherwise.

Every figure comes from the counters the readers and the Graph client update while the sync runs (rows
yielded, requests sent, mailboxes done), never from an estimate, so a long first sync never looks hung.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TextIO

from .config import SettingError
from .graph.entities import ENTITIES
from .graph.source import EntityProgress, SyncRun

DEFAULT_SECONDS = 10.0
REDRAW_SECONDS = 0.5  # a terminal is redrawn at least this often


def progress_seconds(value: str | None = None, environ: Mapping[str, str] | None = None) -> float:
    """Seconds between plain progress lines: ``value`` (the CLI flag), else ``O365_PROGRESS_SECONDS``, else 10;
    0 turns progress off."""
    env = os.environ if environ is None else environ
    text = value if value is not None else env.get("O365_PROGRESS_SECONDS", "").strip()
    if not text:
        return DEFAULT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise SettingError("O365_PROGRESS_SECONDS", f"{text!r} is not a number of seconds (0 turns progress off)")
    return seconds


def entity_line(name: str, figures: EntityProgress) -> str:
    """One entity's figures: parents done of total, rows, requests, requests per second, seconds."""
    unit = ENTITIES[name].progress_unit if name in ENTITIES else None
    parents = f"{figures.parents_done}/{figures.parents_total} {unit}, " if unit and figures.parents_total else ""
    rate = figures.requests / figures.seconds if figures.seconds > 0 else 0.0
    return (
        f"{name}: {parents}{figures.rows} rows, {figures.requests} requests, {rate:.1f} req/s, {figures.seconds:.1f} s"
    )


def progress_lines(run: SyncRun, entities: Sequence[str], elapsed: float) -> list[str]:
    """The summary line, then a line per entity being read."""
    figures = {name: stats.progress() for name, stats in dict(run.stats).items()}
    done = sum(1 for f in figures.values() if f.finished)
    rows = sum(f.rows for f in figures.values())
    requests = run.client.stats.requests if run.client is not None else 0
    phase = "extracting" if done < len(entities) else "normalizing and loading"
    lines = [
        f"sync {elapsed:.1f} s, {phase}: {done}/{len(entities)} entities read, {rows} rows, {requests} requests, "
        f"{requests / elapsed if elapsed > 0 else 0.0:.1f} req/s"
    ]
    for name in entities:
        entity = figures.get(name)
        if entity is not None and entity.started and not entity.finished:
            lines.append("  " + entity_line(name, entity))
    return lines


class SyncProgress:
    """Shows a sync's progress on ``stream`` from a background thread while the ``with`` block runs.

    On a terminal (``live``) the display is redrawn in place and erased at the end; otherwise plain lines
    are written every ``seconds``.
    """

    def __init__(self, run: SyncRun, entities: Sequence[str], stream: TextIO, seconds: float, live: bool) -> None:
        self.run, self.entities, self.stream, self.live = run, list(entities), stream, live
        self.seconds = min(seconds, REDRAW_SECONDS) if live else seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sync-progress", daemon=True)
        self._started = time.perf_counter()
        self._drawn = 0

    def __enter__(self) -> SyncProgress:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")  # erase the display: the final table follows
            self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            self.draw()

    def draw(self) -> None:
        """Write the current figures (redraw in place on a terminal)."""
        elapsed = time.perf_counter() - self._started
        lines = progress_lines(self.run, self.entities, elapsed)
        if not self.live:
            self.stream.write("".join(f"progress: {line.strip()}\n" for line in lines))
            self.stream.flush()
            return
        width = max(20, shutil.get_terminal_size((120, 24)).columns - 1)
        height = max(2, shutil.get_terminal_size((120, 24)).lines - 2)
        lines = [line[:width] for line in lines[:height]]
        erase = f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""
        self.stream.write(erase + "".join(f"{line}\n" for line in lines))
        self.stream.flush()
        self._drawn = len(lines)
