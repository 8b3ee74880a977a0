"""Handing what a bridge reads to its listeners: raw reads, frame blocks and notices.

Listeners run on the bridge thread and must return at once. One that raises is counted and
logged once, and keeps being called: a listener's bug never stops the wire. Decoder notices are
coalesced (the first of a kind at once, the rest of its window as one summary), so a flood of
bad bytes cannot flood the listeners; the bridge's own notices always go through at once.
``RawHistory`` keeps the reads the current decoder was fed, for a listener joining late.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from firmware_bridge.frames import FrameBlock, Notice

log = logging.getLogger("firmware_bridge.bridge")

NOTICE_WINDOW_S = 1.0  # at most one decoder notice per kind per window reaches the listeners
HISTORY_HEAD_BYTES = 64 << 10  # kept from a decoder's first reads (a header line, a preamble)
HISTORY_TAIL_BYTES = 64 << 10  # and from its latest ones (a partial line or frame, a sequence)


class RawHistory:
    """The reads a decoder has been fed since it was made: its first and its latest ones.

    A listener that joins a running bridge (a recorder at Start) is handed them first, so the
    bytes it keeps can bring a fresh decoder to the live decoder's state: the header it learned
    the layout from, and the partial line or frame it holds. When more was read than head and
    tail keep, the reads between are left out and the decoder resynchronises on the tail.
    """

    def __init__(self, head: int = HISTORY_HEAD_BYTES, tail: int = HISTORY_TAIL_BYTES) -> None:
        self._head_max, self._tail_max = head, tail
        self.clear()

    def clear(self) -> None:
        self._head: list[tuple[bytes, float]] = []
        self._tail: deque[tuple[bytes, float]] = deque()
        self._head_bytes = self._tail_bytes = 0
        self.skipped = 0  # bytes between head and tail that are not kept

    def add(self, data: bytes, host_time: float) -> None:
        if self._head_bytes < self._head_max and not self._tail:
            self._head.append((data, host_time))
            self._head_bytes += len(data)
            return
        self._tail.append((data, host_time))
        self._tail_bytes += len(data)
        while self._tail_bytes - len(self._tail[0][0]) >= self._tail_max:
            old, _ = self._tail.popleft()
            self._tail_bytes -= len(old)
            self.skipped += len(old)

    def reads(self) -> list[tuple[bytes, float]]:
        return [*self._head, *self._tail]


class Listener(Protocol):
    """Receives everything the bridge reads. Runs on the bridge thread: return at once."""

    def on_raw(self, data: bytes, host_time: float) -> None: ...

    def on_frames(self, block: FrameBlock) -> None: ...

    def on_notice(self, notice: Notice) -> None: ...


@dataclass
class Hooks:
    """A listener's bound callbacks (a missing method is simply not called)."""

    listener: Any
    raw: Callable[[bytes, float], None] | None
    frames: Callable[[FrameBlock], None] | None
    notice: Callable[[Notice], None] | None
    errors: int = 0


@dataclass
class _Coalesce:
    """Decoder notices of one kind held back within the current window."""

    last_sent: float = -1e18
    held: list[Notice] = field(default_factory=list)
    count: int = 0


class Fanout:
    """The listeners of one bridge, the history a late one is handed, and notice coalescing."""

    def __init__(self) -> None:
        self.hooks: tuple[Hooks, ...] = ()  # replaced whole under lock
        self.lock = threading.Lock()  # a read goes into the history or reaches a new listener
        # held while one read is handed on (its bytes, then its frames and notices): a listener
        # removed is removed once the read it was handed has reached it whole
        self.handing = threading.RLock()
        self.history = RawHistory()
        self.errors = 0
        self._coalesce: dict[str, _Coalesce] = {}

    def add(self, listener: Any, history: bool) -> None:
        hooks = Hooks(listener, getattr(listener, "on_raw", None),
                      getattr(listener, "on_frames", None), getattr(listener, "on_notice", None))
        with self.lock:
            if history:
                listener.on_history(self.history.reads(), self.history.skipped)
            self.hooks = (*self.hooks, hooks)

    def remove(self, listener: Any) -> None:
        """No more reads for ``listener``; returns once the read being handed on (if it reached
        the listener) has reached it whole, frames and all, so a recorder closed next has every
        frame of the bytes it kept. From a listener's own callback it returns at once."""
        with self.lock:
            self.hooks = tuple(h for h in self.hooks if h.listener is not listener)
        with self.handing:
            pass

    def raw(self, data: bytes, host_time: float) -> tuple[Hooks, ...]:
        """Keep a read in the history and hand it to every listener; the listeners it reached
        (the frames decoded from it go to these, and to no listener added since)."""
        with self.lock:
            self.history.add(data, host_time)
            hooks = self.hooks
        for h in hooks:
            if h.raw is not None:
                self.call(h, h.raw, data, host_time)
        return hooks

    def frames(self, block: FrameBlock, hooks: tuple[Hooks, ...]) -> None:
        for h in hooks:
            if h.frames is not None:
                self.call(h, h.frames, block)

    def call(self, hooks: Hooks, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a listener's bug must never stop the wire; counted and logged once
            hooks.errors += 1
            self.errors += 1
            if hooks.errors == 1:
                log.exception("bridge listener %r raised; it keeps being called, errors counted",
                              hooks.listener)

    def emit(self, notice: Notice) -> None:
        """Hand ``notice`` to every listener now (the bridge's own notices)."""
        for h in self.hooks:
            if h.notice is not None:
                self.call(h, h.notice, notice)

    def coalesce(self, notice: Notice) -> None:
        """Pass the first notice of a kind at once; hold the rest of its window as one summary."""
        c = self._coalesce.setdefault(notice.kind, _Coalesce())
        if notice.host_time - c.last_sent >= NOTICE_WINDOW_S and not c.count:
            c.last_sent = notice.host_time
            self.emit(replace(notice, data={**notice.data, "count": 1}))
            return
        if not c.held:
            c.held.append(notice)
        c.count += 1

    def flush_notices(self, now: float, force: bool = False) -> None:
        """Send the summaries whose window has passed (``force``: all of them)."""
        for c in self._coalesce.values():
            if c.count and (force or now - c.last_sent >= NOTICE_WINDOW_S):
                first = c.held[0]
                more = f" (and {c.count - 1} more)" if c.count > 1 else ""
                detail = first.detail + more
                data = {**first.data, "count": c.count, "first_host_time": first.host_time}
                self.emit(replace(first, detail=detail, data=data))
                c.held.clear()
                c.count = 0
                c.last_sent = now
