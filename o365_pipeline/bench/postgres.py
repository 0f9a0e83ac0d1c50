"""A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl`` on a free loopback port) for the tests and benchmarks
of the Postgres destination and of shard runs side by side."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2

USER = "o365"


def pg_binary(name: str) -> str:
    """``initdb``/``pg_ctl`` from PATH, /usr/local/bin or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name) or shutil.which(name, path="/usr/local/bin")
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found is None and not candidates:
        raise RuntimeError(f"{name} not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return found or candidates[-1]


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_database(settings: dict[str, str], name: str) -> None:
    """``create database <name>`` on the cluster of ``settings`` (its O365_PG_* settings)."""
    con = psycopg2.connect(
        host=settings["O365_PG_HOST"], port=int(settings["O365_PG_PORT"]), user=USER, dbname="postgres"
    )
    con.autocommit = True  # CREATE DATABASE runs outside a transaction
    con.cursor().execute(f"create database {name}")
    con.close()


@contextlib.contextmanager
def throwaway_postgres(max_connections: int = 100) -> Iterator[dict[str, str]]:
    """A cluster (as ``nobody`` when running as root) with database ``o365``; yields its O365_PG_* settings and
    removes it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="o365-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    port = free_port()
    data, log = folder / "data", folder / "log"
    subprocess.run(
        [*as_user, pg_binary("initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections={max_connections}"
    subprocess.run(
        [*as_user, pg_binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        settings = {
            "O365_PG_HOST": "127.0.0.1",
            "O365_PG_PORT": str(port),
            "O365_PG_USER": USER,
            "O365_PG_PASSWORD": "unused-trust-auth",
            "O365_PG_DBNAME": "o365",
        }
        create_database(settings, "o365")
        yield settings
    finally:
        subprocess.run([*as_user, pg_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
