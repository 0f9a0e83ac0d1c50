"""Whether this sync may write its destination: a writable DuckDB folder, no other sync on the same DuckDB file
or dlt folder, no other program holding the DuckDB file. Each refusal is one line naming what to do, given
before anything is read or written, so loaded data stays as it was.

A second sync on the same destination is refused at start rather than queued: the sync is incremental, so the
next scheduled run reads whatever the running one did not, and a refusal never leaves a process waiting on
another's unknown length.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
from dlt.common.pipeline import get_dlt_pipelines_dir

from .config import PipelineConfig, SettingError

LOCK_SUFFIX = ".sync-lock"  # the file beside the DuckDB file (and in dlt's pipelines folder) a running sync holds
_DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)": Conflicting lock is held in (?P<by>.+?)\.(?: See also|\s*$)',
    re.MULTILINE,
)


class DestinationBusyError(RuntimeError):
    """The destination is in use by another sync or program; nothing was read or written."""


def check_writable(config: PipelineConfig) -> None:
    """Fail with one line naming ``O365_DUCKDB_PATH`` when DuckDB cannot write its file (and the ``.wal`` beside
    it) there: a read-only folder or file."""
    if config.destination != "duckdb":
        return
    path = config.duckdb_path
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("/"))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SettingError(
            "O365_DUCKDB_PATH",
            f"the folder {folder} is read-only: DuckDB writes {path.name} and its .wal there; make it writable or "
            "point O365_DUCKDB_PATH at a writable folder",
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise SettingError(
            "O365_DUCKDB_PATH", f"{path} is read-only: make it writable or point O365_DUCKDB_PATH at another file"
        )


def lock_files(config: PipelineConfig, pipeline_name: str) -> list[Path]:
    """The lock files of a sync: one beside the DuckDB file, one beside the dlt pipeline's local folder (taken
    before dlt touches that folder)."""
    files = [Path(get_dlt_pipelines_dir()) / f"{pipeline_name}{LOCK_SUFFIX}"]
    if config.destination == "duckdb":
        files.insert(0, config.duckdb_path.with_name(config.duckdb_path.name + LOCK_SUFFIX))
    return files


@contextlib.contextmanager
def exclusive(files: Sequence[Path]) -> Iterator[None]:
    """Hold every lock file for the duration (released when the process ends, even by ``kill -9``).

    Raises:
        DestinationBusyError: another sync holds one of them; the message names it and its process.
    """
    with contextlib.ExitStack() as stack:
        for file in files:
            file.parent.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context(open(file, "a+"))  # noqa: SIM115 (held until the stack closes)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                target = file.with_name(file.name.removesuffix(LOCK_SUFFIX))
                raise DestinationBusyError(
                    f"another sync ({holder}) is writing {target}: run again once it has finished (only one sync "
                    "writes a destination at a time)"
                ) from None
            handle.seek(0)
            handle.truncate()
            started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            handle.write(f"pid {os.getpid()}, started {started}")
            handle.flush()
        yield


def check_not_locked(config: PipelineConfig) -> None:
    """Fail with one line when another program (a DuckDB shell, a notebook) holds the DuckDB file open."""
    if config.destination != "duckdb":
        return
    try:
        duckdb.connect(str(config.duckdb_path)).close()
    except duckdb.IOException as exc:
        error = locked_by(exc)
        if error is None:
            raise
        raise error from None


def locked_by(exc: BaseException) -> DestinationBusyError | None:
    """The clear error for DuckDB's "Could not set lock on file" anywhere in ``exc``'s chain, naming the file and
    the process holding it (DuckDB's message gives its program and PID)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        found = _DUCKDB_LOCK.search(str(current))
        if found:
            return DestinationBusyError(
                f"the DuckDB file {found['file']} is locked by {found['by']}: close that program (or its DuckDB "
                "connection) and run again"
            )
        seen.add(id(current))
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return None
