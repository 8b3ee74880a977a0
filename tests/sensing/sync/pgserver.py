"""A real PostgreSQL server for the tests: the one $SOTLOG_TEST_POSTGRES names, else one started
from Debian's binaries in a temporary folder, listening on a unix socket only (and, given a
certificate and its key, with TLS on a loopback port that takes TLS connections only).

Missing binaries fail the tests (they are not skipped): `.ci/run` installs Debian's postgresql.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
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

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
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
        self.port = 0  # a loopback TCP port, with TLS only; 0: none
        if tls is not None:
            self._tls(*tls)
        self.start()

    def _tls(self, cert: Path, key: Path) -> None:
        """Serve TLS with ``cert`` and ``key`` on a free loopback port; refuse TCP without it."""
        for source, name in ((cert, "server.crt"), (key, "server.key")):
            kept = self.data / name
            shutil.copy(source, kept)
            os.chmod(kept, 0o600)  # the server refuses a key others may read
            if self.owner:
                user = pwd.getpwnam("postgres")
                os.chown(kept, user.pw_uid, user.pw_gid)
        (self.data / "pg_hba.conf").write_text("local all all trust\n"
                                               "hostssl all all 127.0.0.1/32 trust\n"
                                               "hostnossl all all 127.0.0.1/32 reject\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def _run(self, *argv: str | Path) -> None:
        done = subprocess.run([*self.owner, *map(str, argv)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr + done.stdout

    def start(self) -> None:
        listen = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c ssl=on" if self.port
                  else "-c listen_addresses=''")
        options = (f"-k {self.socket} {listen} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=40")
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.root / "log", "-o", options,
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def url(self, db: str = "postgres", password: str = "") -> str:
        auth = f"{USER}:{password}" if password else USER
        port = f"&port={self.port}" if self.port else ""  # the socket is named by the port
        return f"postgresql://{auth}@/{db}?host={self.socket}{port}"

    def tls_url(self, db: str, ca: Path, sslmode: str = "verify-full") -> str:
        """``db`` over TLS by the loopback port, the server checked against ``ca``."""
        return (f"postgresql://{USER}@localhost:{self.port}/{db}?sslmode={sslmode}"
                f"&sslrootcert={ca}")

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
