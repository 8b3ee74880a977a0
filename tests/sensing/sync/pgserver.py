"""A real PostgreSQL server for the tests: the one $SOTLOG_TEST_POSTGRES names, else one started
from Debian's binaries in a temporary folder, listening on a unix socket only.

Missing binaries fail the tests (they are not skipped): `.ci/run` installs Debian's postgresql.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

ENV = "SOTLOG_TEST_POSTGRES"  # a URL whose user may CREATE DATABASE
USER = "sotlog"


def bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        pytest.fail("PostgreSQL's binaries (initdb, pg_ctl) are not installed: "
                    "apt-get install postgresql, or set $SOTLOG_TEST_POSTGRES to a server's URL")
    return Path(versions[-1]).parent


class Server:
    """A PostgreSQL cluster of our own, stopped and started as a test needs."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="sotlog-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.socket.mkdir()
        self.owner: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as Debian's postgres user
            os.chmod(self.root, 0o755)
            user = pwd.getpwnam("postgres")
            for p in (self.root, self.socket):
                os.chown(p, user.pw_uid, user.pw_gid)
            self.owner = ["runuser", "-u", "postgres", "--"]
        self._run(self.bin / "initdb", "-D", str(self.data), "-U", USER, "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        self.start()

    def _run(self, *argv: str | Path) -> None:
        done = subprocess.run([*self.owner, *map(str, argv)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr + done.stdout

    def start(self) -> None:
        options = (f"-k {self.socket} -c listen_addresses='' -c fsync=off "
                   "-c full_page_writes=off -c max_connections=40")
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.root / "log", "-o", options,
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def url(self, db: str = "postgres", password: str = "") -> str:
        auth = f"{USER}:{password}" if password else USER
        return f"postgresql://{auth}@/{db}?host={self.socket}"

    def close(self) -> None:
        try:
            self.stop("immediate")  # no shutdown checkpoint: the cluster is deleted next
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def new_database(admin_url: str, template: str = "") -> str:
    """A fresh database on the server ``admin_url`` reaches, a copy of the database
    ``template`` names if given (its schema made once); its URL."""
    import psycopg

    name = f"sotlog_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    head, _, query = admin_url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")
