"""Looking for secret values in everything a run wrote: text outputs and files, compressed or in DuckDB."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import duckdb
from dlt.common.versioned_state import decompress_state

GZIP_MAGIC = b"\x1f\x8b"


def token_variants(name: str, token: str) -> dict[str, str]:
    """A token and, for a JWT, its signature part alone (a log might cut the token but keep its tail)."""
    variants = {name: token}
    if token.count(".") == 2:
        variants[f"{name} signature"] = token.rsplit(".", 1)[1]
    return variants


def pem_lines(name: str, pem: str) -> dict[str, str]:
    """Each full base64 line of a PEM body: a key may leak one line at a time."""
    lines = [line for line in pem.splitlines() if len(line) >= 40 and not line.startswith("-----")]
    return {f"{name} line {i}": line for i, line in enumerate(lines, 1)}


def _duckdb_text(path: Path) -> str:
    """Every cell of every table (strings are compressed on disk), dlt's compressed state decoded."""
    parts: list[str] = []
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        for schema, table in tables:
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            parts.append(repr(rows))
            if table == "_dlt_pipeline_state":
                for (state,) in con.execute(f'select state from "{schema}"."{table}"').fetchall():
                    parts.append(json.dumps(decompress_state(state)))
    return "\n".join(parts)


def file_texts(roots: Iterable[Path], exclude: Iterable[Path] = ()) -> Iterator[tuple[str, str]]:
    """(path, text) for every file under `roots`: raw bytes as text, gzip members decompressed, DuckDB dumped."""
    skip = {p.resolve() for p in exclude}
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.resolve() in skip:
                continue
            data = path.read_bytes()
            yield str(path), data.decode("latin-1")
            if data.startswith(GZIP_MAGIC):
                yield f"{path} (gunzipped)", gzip.decompress(data).decode("latin-1")
            if path.suffix == ".duckdb":
                yield f"{path} (tables)", _duckdb_text(path)


def find_leaks(secrets: Mapping[str, str], texts: Iterable[tuple[str, str]]) -> list[str]:
    """`"<secret name> in <where>"` for each secret value found in a text."""
    found: list[str] = []
    for where, text in texts:
        found.extend(f"{name} in {where}" for name, value in secrets.items() if value and value in text)
    return found
