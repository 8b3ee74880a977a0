"""Dashboard test fixtures: a real store file, the real app, and the real ``sotlog serve``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dashboard.web.app import create_app
from dashboard.web.settings import Settings

SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 15.0


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite3"


@pytest.fixture
def make_client(store_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient (lifespan running) for Settings(**overrides) over the tmp store."""
    opened: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        # TestClient names itself "testserver" for WebSockets: allowed as any --allow-host is.
        settings = Settings(**{"store": str(store_path), "allow_hosts": ["testserver"],
                               **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


def free_port() -> int:
    """A loopback port nothing listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``sotlog serve ARGS --http-port N --store PATH`` in its own process, as a person runs it."""

    def __init__(self, store: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = store
        self.args = [sys.executable, "-m", "dashboard.cli", "serve", *args,
                     "--http-port", str(self.port), "--store", str(store)]
        self.proc: subprocess.Popen[str] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def start(self) -> ServeProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SOTLOG_TOKEN", None)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:  # another process: nothing to wait on but its port answering (bounded)
            if self.proc.poll() is not None:
                _, err = self.proc.communicate()
                raise RuntimeError(f"sotlog serve exited with {self.proc.returncode}: {err}")
            try:
                if self.http.get("/api/status").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"sotlog serve did not answer within {SERVER_START_TIMEOUT_S} s")
            time.sleep(0.05)

    def stop(self) -> str:
        """Ctrl-C, as a person stops it; its stderr."""
        self.http.close()
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture
def serve(store_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``sotlog serve`` with the given arguments over the tmp store; stopped afterwards."""
    started: list[ServeProcess] = []

    def start(*args: str) -> ServeProcess:
        server = ServeProcess(store_path, *args).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
