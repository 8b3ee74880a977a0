"""Dashboard test fixtures: a real store file, the real app, a real server for the browser."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from dashboard.app import create_app
from dashboard.settings import Settings

SERVER_START_TIMEOUT_S = 20.0


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite3"


@pytest.fixture
def make_client(store_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient (lifespan running) for Settings(**overrides) over the tmp store."""
    opened: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        settings = Settings(**{"store": str(store_path), **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


class LiveServer:
    """The real app under uvicorn on a free 127.0.0.1 port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not self.server.started:  # uvicorn offers a flag, not an event: poll it, bounded
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture
def live_server(store_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(Settings(simulate=True, store=str(store_path)))
    server.start()
    yield server
    server.stop()
