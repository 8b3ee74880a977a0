"""The sync in a thread of its own, for a face that records (``record``, ``serve``): it runs when
a session closes and every few minutes, and nothing that records ever waits on it.

A run that fails (the server down, the network gone) is kept as one line and retried after a
pause that doubles up to ``interval``. The next successful run copies what the failed one did not:
the sync itself is whole per session and idempotent (sensing.store.pg.sync).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from firmware_bridge.errors import SotlogError
from sensing.store.config import SYNC_AT_EXIT_S, SYNC_INTERVAL_S, file_settings, shared_store
from sensing.store.pg.sync import Step, Sync, SyncResult
from sensing.store.storefile import StoreFile
from sensing.store.url import redact

FIRST_RETRY_S = 5.0

log = logging.getLogger("sensing.sync")


class BackgroundSync:
    """Copies one station's store to the shared store, in a daemon thread."""

    def __init__(self, store: Path, url: str, station: str | None = None, *,
                 interval: float = SYNC_INTERVAL_S, at_exit_s: float = SYNC_AT_EXIT_S,
                 progress: Callable[[Step], None] | None = None) -> None:
        self.store = store
        self.url = url
        self.station = station
        self.interval = interval
        self.at_exit_s = at_exit_s  # how long a face waits on exit for the last copy
        self.progress = progress
        self.last: SyncResult | None = None  # the newest run that finished
        self.error = ""  # why the newest run failed (no password in it), "" after a success
        self.runs = 0  # runs attempted
        self.unanswered = ""  # why ``finish`` stopped waiting, if it had to
        self._kicked = threading.Event()
        self._stopping = threading.Event()
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="sotlog-sync", daemon=True)

    def start(self) -> BackgroundSync:
        self._thread.start()
        return self

    def kick(self) -> None:
        """Sync soon (a session has closed); returns at once."""
        self._kicked.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the session being copied (if any) is whole or rolled back."""
        self._stopping.set()
        self._kicked.set()
        self._thread.join(timeout)

    def finish(self) -> None:
        """A face's exit: one more run for what ended last, waited for ``at_exit_s`` seconds in
        all. A run still going then (a server that does not answer) is left behind: the shared
        store rolls its session back, whole, and the next start or `sotlog sync` copies it."""
        until = time.monotonic() + self.at_exit_s
        runs = self.runs
        self.kick()
        if not self.wait_for_run(runs, self.at_exit_s):
            self.unanswered = f"no answer from the shared store within {self.at_exit_s:g} s"
        self.stop(max(0.0, until - time.monotonic()))

    def not_copied(self) -> str | None:
        """One line for a face ending: what the newest run could not do, or None if it did."""
        why = self.unanswered or self.error
        if not why:
            return None
        return (f"sessions not copied to the shared store yet ({why}); the next start or "
                "`sotlog sync` copies them")

    def wait_for_run(self, after: int, timeout: float) -> bool:
        """Whether run number ``after + 1`` finished (well or not) within ``timeout`` seconds."""
        with self._done:
            return self._done.wait_for(lambda: self.runs > after, timeout)

    def _loop(self) -> None:
        pause, retry = self.interval, 0.0
        while not self._stopping.is_set():
            self._kicked.wait(pause)
            self._kicked.clear()
            if self._stopping.is_set():
                return
            if self._once():
                pause, retry = self.interval, 0.0
            else:
                retry = min(self.interval, retry * 2 if retry else FIRST_RETRY_S)
                pause = retry

    def _once(self) -> bool:
        try:
            result = Sync(StoreFile.open(self.store), self.url, self.station).run(self.progress)
        except SotlogError as err:
            error = redact(str(err), self.url)
            if error != self.error:  # said once while it stays the same, not at every retry
                log.warning("the shared store has not taken this station's sessions yet: %s",
                            error)
            self.error, ok = error, False
        else:
            self.last, self.error, ok = result, "", True
        with self._done:
            self.runs += 1
            self._done.notify_all()
        return ok


def configured_sync(store: Path) -> BackgroundSync | None:
    """The station's sync, started, when ``$SOTLOG_SHARED_STORE`` or the config file names a
    shared store (sensing.store.config); None when neither does. A URL that is not PostgreSQL,
    or a missing psycopg, is one line now, before anything records."""
    shared = shared_store()
    if shared is None:
        return None
    from sensing.store.pg.schema import psycopg_module

    psycopg_module()
    kept = file_settings()
    return BackgroundSync(store, shared.url, interval=kept.sync_interval_s,
                          at_exit_s=kept.sync_at_exit_s).start()
