"""A real `sotlog serve` for the benches that time the web API: a free loopback port, the
server started on a store, a client once it answers, and the server stopped after."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(store: Path) -> Iterator[httpx.Client]:
    """`sotlog serve --store STORE` in its own process; a client to it once it answers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--store",
                               str(store), "--http-port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        for _ in range(200):
            try:
                http.get("/api/status")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield http
    finally:
        server.terminate()
        server.wait()
