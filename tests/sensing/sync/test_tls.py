"""TLS to the shared store, against a real server with a certificate made here: `sotlog sync` and
a read of the shared store connect with sslmode=verify-full, and a server whose certificate the
given CA did not sign is refused in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sensing.sync.conftest import sotlog
from tests.sensing.sync.pgserver import Server, new_database
from tests.sensing.sync.shared import pg_rows


def openssl(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: its certificate and key."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
            "-out", f"{name}.crt", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    return folder / f"{name}.crt", folder / f"{name}.key"


def fresh(server: Server) -> str:
    """A new database's name."""
    return new_database(server.url()).split("?")[0].rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path, Path]]:
    """A server with a certificate for localhost signed by a clinic CA; that CA and another."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is not installed: apt-get install openssl")
    folder = tmp_path_factory.mktemp("tls")
    ca, ca_key = make_ca(folder, "clinic-ca")
    wrong, _ = make_ca(folder, "other-ca")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr", cwd=folder)
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.crt",
            cwd=folder)
    server = Server(tls=(folder / "server.crt", folder / "server.key"))
    try:
        yield server, ca, wrong
    finally:
        server.close()


def test_sync_and_a_shared_read_connect_with_verify_full(
        tls: tuple[Server, Path, Path], station_stores: list[Path]) -> None:
    server, ca, _ = tls
    db = fresh(server)
    url = server.tls_url(db, ca)
    done = sotlog("sync", "--to", url, "--store", str(station_stores[0]), "--station", "room1")
    assert done.returncode == 0, done.stderr
    assert "2 sessions copied" in done.stdout
    listed = sotlog("sessions", "--json", "--store", url)
    assert listed.returncode == 0, listed.stderr
    assert {s["station"] for s in json.loads(listed.stdout)} == {"room1"}
    assert len(json.loads(listed.stdout)) == 2
    # The port takes TLS only, so the two above went over TLS: without it, the server refuses.
    bare = sotlog("sessions", "--store", server.tls_url(db, ca, "disable"))
    assert bare.returncode == 2 and "no encryption" in bare.stderr, bare.stderr
    used = pg_rows(url, "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert used[0]["ssl"] and used[0]["version"].startswith("TLS")


def test_verify_full_against_a_wrong_ca_is_one_line(tls: tuple[Server, Path, Path],
                                                    station_stores: list[Path]) -> None:
    server, _, wrong = tls
    db = fresh(server)
    url = server.tls_url(db, wrong)
    for done in (sotlog("sync", "--to", url, "--store", str(station_stores[1]),
                        "--station", "room2"),
                 sotlog("sessions", "--store", url)):
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "certificate verify failed" in lines[0], lines
    assert pg_rows(server.url(db), "SELECT count(*) AS n FROM pg_tables "
                                   "WHERE tablename = 'sessions'")[0]["n"] == 0  # nothing made
