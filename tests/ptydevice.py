"""A device on a real pseudo-terminal: a thread writes bytes to the master side, sotlog opens
the slave path exactly as it would open /dev/ttyUSB0."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import tty
from collections.abc import Callable, Iterable
from pathlib import Path


class PtyDevice:
    """Plays a device on a pseudo-terminal. ``path`` is the port sotlog opens."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # bytes pass unchanged: no CR/LF translation, no echo
        self.path = os.ttyname(self.slave)
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def play(self, chunks: Iterable[bytes], interval: float = 0.0,
             on_done: Callable[[], None] | None = None) -> None:
        """Write ``chunks`` from a thread, ``interval`` seconds apart."""

        def run() -> None:
            for chunk in chunks:
                if self._stop.is_set():
                    break
                self.write(chunk)
                if interval:
                    time.sleep(interval)
            self.done.set()
            if on_done:
                on_done()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def read_available(self, timeout: float = 0.1) -> bytes:
        """Bytes sotlog wrote to the device (e.g. poll requests)."""
        import select

        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            data = os.read(self.master, 65536)
            self.received += data
            return data
        return b""

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):  # already closed by a test that unplugged it
                os.close(fd)

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def plug(link: Path, dev: PtyDevice) -> None:
    """Make ``link`` lead to ``dev`` in one step, as udev makes a /dev/serial/by-id link."""
    new = link.with_name(link.name + ".new")
    os.symlink(dev.path, new)
    os.replace(new, link)
