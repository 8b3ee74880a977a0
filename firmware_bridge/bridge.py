"""The bridge: one background thread reads a port, decodes it and hands everything to listeners.

Bytes are stamped with ``time.monotonic()`` the moment a read returns them. Every listener gets
the raw bytes, the decoded frame blocks and the notices, on the bridge thread, and must return at
once (queue the work). A lost port is retried with exponential backoff; its return is reported
with ``disconnect``, ``reconnect`` and ``gap`` notices, so missing data is never silent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import serial

from firmware_bridge.errors import DeviceError
from firmware_bridge.frames import FLAG_AFTER_GAP, Counters, FrameBlock, Notice
from firmware_bridge.ports import open_port
from firmware_bridge.profiles import Profile
from firmware_bridge.protocols import Decoder, make_decoder

log = logging.getLogger(__name__)

STATES = ("connecting", "connected", "disconnected", "stopped")
BRIDGE_NOTICE_KINDS = ("disconnect", "reconnect", "gap")  # the bridge's own; never coalesced
NOTICE_WINDOW_S = 1.0  # at most one decoder notice per kind per window reaches the listeners
RATE_WINDOW_S = 2.0
POLL_RETRY_S = 0.25  # a polled device that has not answered for this long is asked again
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
class _Hooks:
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


def _add(a: Counters, b: Counters) -> Counters:
    bd = b.as_dict()
    return Counters(**{k: v + bd[k] for k, v in a.as_dict().items()})


class Bridge:
    """Reads ``url`` with ``profile``'s decoder in a background thread and fans out to listeners.

    ``reconnect`` retries a lost or absent port forever, waiting ``backoff[0]`` seconds at first
    and doubling up to ``backoff[1]``. ``counters`` merges the decoder's counters with the
    bridge's own (bytes read from the wire, reconnects).
    """

    def __init__(self, url: str, profile: Profile, *, reconnect: bool = True,
                 backoff: tuple[float, float] = (0.1, 2.0), read_timeout: float = 0.05) -> None:
        self.url = url
        self.profile = profile
        self.reconnect = reconnect
        self.backoff = backoff
        self.read_timeout = read_timeout
        self.decoder: Decoder = make_decoder(profile)
        self.error: DeviceError | None = None  # why the port could not be opened, if it could not
        self.listener_errors = 0
        self._state = "stopped"
        self._bytes = 0
        self._reconnects = 0
        self._retired = Counters()  # counts of decoders replaced after a reconnect
        self._counters_lock = threading.Lock()
        self._hooks: tuple[_Hooks, ...] = ()  # replaced whole under _hooks_lock
        self._hooks_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._port: serial.SerialBase | None = None
        self._preopened: serial.SerialBase | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._coalesce: dict[str, _Coalesce] = {}
        self._rate: deque[tuple[float, int]] = deque()
        self._rate_since = 0.0
        self._rate_lock = threading.Lock()
        self._last_data_time: float | None = None
        self._mark_after_gap = False
        self._last_poll = 0.0
        self.history = RawHistory()

    # -- public face -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """``connecting``, ``connected``, ``disconnected`` or ``stopped``."""
        return self._state

    @property
    def counters(self) -> Counters:
        """A snapshot: the decoder's counts, the bytes the bridge read, the reconnects."""
        with self._counters_lock:
            merged = _add(self._retired, self.decoder.counters)
        merged.bytes = self._bytes
        merged.reconnects = self._reconnects
        return merged

    @property
    def frame_rate(self) -> float:
        """Frames per second measured over the last ~2 s (0 when nothing arrives)."""
        now = time.monotonic()
        with self._rate_lock:
            while self._rate and self._rate[0][0] < now - RATE_WINDOW_S:
                self._rate.popleft()
            n = sum(k for _, k in self._rate)
            span = min(RATE_WINDOW_S, now - self._rate_since)
        return n / span if n and span > 0 else 0.0

    def add_listener(self, listener: Any, *, history: bool = False) -> None:
        """Hand everything read from now on to ``listener`` as well.

        With ``history``, ``listener.on_history(reads)`` first gets the reads the current decoder
        was fed so far (``RawHistory``): exactly those it will not get through ``on_raw``.
        """
        hooks = _Hooks(listener, getattr(listener, "on_raw", None),
                       getattr(listener, "on_frames", None), getattr(listener, "on_notice", None))
        with self._hooks_lock:
            if history:
                listener.on_history(self.history.reads(), self.history.skipped)
            self._hooks = (*self._hooks, hooks)

    def remove_listener(self, listener: Listener | Any) -> None:
        """Stop handing things to ``listener`` (no error if it was not there)."""
        with self._hooks_lock:
            self._hooks = tuple(h for h in self._hooks if h.listener is not listener)

    @classmethod
    def check(cls, url: str, profile: Profile) -> None:
        """Open and close ``url`` once; a DeviceError says why a port is not usable."""
        open_port(url, profile.serial).close()

    def open_once(self) -> None:
        """Open the port now, in the caller's thread, so a missing port fails fast (DeviceError).

        The open port is handed to the thread that ``start()`` launches.
        """
        self._preopened = open_port(self.url, self.profile.serial, self.read_timeout)

    def start(self) -> None:
        """Start the reading thread (once)."""
        if self._thread is not None:
            raise RuntimeError("a Bridge can be started only once")
        self._state = "connecting"
        self._thread = threading.Thread(target=self._run, name=f"sotlog-bridge {self.url}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading, close the port and wait up to ``timeout`` s for the thread to end."""
        self._stop.set()
        port = self._port
        cancel = getattr(port, "cancel_read", None)
        if cancel is not None:
            # Wakes a blocked read at once on POSIX ports; otherwise it times out by itself.
            with contextlib.suppress(serial.SerialException, OSError, TypeError, AttributeError):
                cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)  # (a listener may call stop() on the bridge thread itself)
        elif self._preopened is not None:
            self._preopened.close()
            self._preopened = None
        self._state = "stopped"

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block until the port is open (True) or ``timeout`` s pass (False)."""
        return self._connected.wait(timeout)

    def write(self, data: bytes) -> None:
        """Send ``data`` to the device; DeviceError when it is not connected."""
        port = self._port
        if port is None or not self._connected.is_set():
            raise DeviceError(f"cannot write to {self.url}: not connected")
        try:
            with self._write_lock:
                port.write(data)
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"cannot write to {self.url}: {err}") from err

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.backoff[0]
        lost_at: float | None = None  # last good host time before a loss
        try:
            while not self._stop.is_set():
                port = self._open()
                if port is None:
                    if not self.reconnect:
                        self._state = "disconnected"
                        return
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
                delay = self.backoff[0]
                try:
                    self._connected_to(port, lost_at)
                    self._pump(port)
                except (serial.SerialException, OSError) as err:
                    lost_at = self._lost(err)
                finally:
                    self._port = None
                    self._connected.clear()
                    self._close(port)
                if not self.reconnect:
                    return
        except Exception:  # a bug here must be visible, and must not leave a zombie "connected"
            log.exception("bridge thread for %s ended by an unexpected error", self.url)
            self._state = "disconnected"
            raise
        finally:
            self._flush_notices(time.monotonic(), force=True)
            if self._stop.is_set():
                self._state = "stopped"

    def _open(self) -> serial.SerialBase | None:
        if self._preopened is not None:
            port, self._preopened = self._preopened, None
            return port
        try:
            return open_port(self.url, self.profile.serial, self.read_timeout)
        except DeviceError as err:
            if self.error is None or str(err) != str(self.error):
                log.info("%s", err)
            self.error = err
            return None

    def _connected_to(self, port: serial.SerialBase, lost_at: float | None) -> None:
        now = time.monotonic()
        self.error = None
        if lost_at is not None:
            self._reconnects += 1
            # A partial frame from before the loss is dropped with the old decoder; its counts
            # are kept (decoders may hold references to their own Counters, so add, not share).
            fresh = make_decoder(self.profile)
            with self._counters_lock:
                self._retired = _add(self._retired, self.decoder.counters)
                self.decoder = fresh
            with self._hooks_lock:
                self.history.clear()
            self._mark_after_gap = True
            self._emit(Notice(now, "reconnect", f"{self.url} is back"))
            self._emit(Notice(now, "gap", f"no data for {now - lost_at:.3f} s",
                              {"start": lost_at, "end": now, "duration_s": now - lost_at}))
        with self._rate_lock:
            self._rate.clear()
            self._rate_since = now
        self._last_data_time = now
        self._port = port
        self._state = "connected"
        self._connected.set()
        start, poll = self.decoder.start_request(), self.decoder.poll_request()
        self._send(port, start)
        if poll != start:  # a polled device whose start request is its first poll
            self._send(port, poll)

    def _lost(self, err: BaseException) -> float:
        now = time.monotonic()
        last_good = self._last_data_time if self._last_data_time is not None else now
        self._state = "disconnected"
        self._connected.clear()
        self._flush_notices(now, force=True)
        self._emit(Notice(now, "disconnect", f"{self.url} lost: {err}",
                          {"last_data": last_good}))
        return last_good

    def _pump(self, port: serial.SerialBase) -> None:
        poll = self.decoder.poll_request() is not None
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            now = time.monotonic()
            if not data:
                if poll and now - self._last_poll >= POLL_RETRY_S:
                    self._send(port, self.decoder.poll_request())
                self._flush_notices(now)
                continue
            self._bytes += len(data)
            self._last_data_time = now
            with self._hooks_lock:  # a read is in the history or reaches a new listener: one
                self.history.add(data, now)
                hooks = self._hooks
            for h in hooks:
                if h.raw is not None:
                    self._call(h, h.raw, data, now)
            decoded = self.decoder.feed(data, now)
            block = decoded.frames
            if block is not None and len(block):
                self._deliver(block, now, hooks)
                if poll:
                    self._send(port, self.decoder.poll_request())
            for notice in decoded.notices:
                self._coalesce_notice(notice)
            self._flush_notices(now)

    def _deliver(self, block: FrameBlock, now: float, hooks: tuple[_Hooks, ...]) -> None:
        """Frames go to the listeners their bytes went to (a listener added in between gets
        those bytes in its history instead)."""
        if self._mark_after_gap:
            block.flags[0] |= FLAG_AFTER_GAP
            self._mark_after_gap = False
        with self._rate_lock:
            self._rate.append((now, len(block)))
            while self._rate[0][0] < now - RATE_WINDOW_S:  # bounded even if nobody asks
                self._rate.popleft()
        for h in hooks:
            if h.frames is not None:
                self._call(h, h.frames, block)

    def _send(self, port: serial.SerialBase, data: bytes | None) -> None:
        if data:
            with self._write_lock:
                port.write(data)
            self._last_poll = time.monotonic()

    @staticmethod
    def _close(port: serial.SerialBase) -> None:
        with contextlib.suppress(serial.SerialException, OSError):  # the device may be gone
            port.close()

    # -- listeners and notices ----------------------------------------------------------------

    def _call(self, hooks: _Hooks, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a listener's bug must never stop the wire; counted and logged once
            hooks.errors += 1
            self.listener_errors += 1
            if hooks.errors == 1:
                log.exception("bridge listener %r raised; it keeps being called, errors counted",
                              hooks.listener)

    def _emit(self, notice: Notice) -> None:
        for h in self._hooks:
            if h.notice is not None:
                self._call(h, h.notice, notice)

    def _coalesce_notice(self, notice: Notice) -> None:
        """Pass the first notice of a kind at once; hold the rest of its window as one summary."""
        c = self._coalesce.setdefault(notice.kind, _Coalesce())
        if notice.host_time - c.last_sent >= NOTICE_WINDOW_S and not c.count:
            c.last_sent = notice.host_time
            self._emit(replace(notice, data={**notice.data, "count": 1}))
            return
        if not c.held:
            c.held.append(notice)
        c.count += 1

    def _flush_notices(self, now: float, force: bool = False) -> None:
        for c in self._coalesce.values():
            if c.count and (force or now - c.last_sent >= NOTICE_WINDOW_S):
                first = c.held[0]
                more = f" (and {c.count - 1} more)" if c.count > 1 else ""
                detail = first.detail + more
                data = {**first.data, "count": c.count, "first_host_time": first.host_time}
                self._emit(replace(first, detail=detail, data=data))
                c.held.clear()
                c.count = 0
                c.last_sent = now
