"""The bridge: one background thread reads a port, decodes it and hands everything to listeners.

Bytes are stamped with ``time.monotonic()`` (to the microsecond) the moment a read returns them,
one read taking all that has arrived (``ports.read_arrived``). Every listener gets
the raw bytes, the decoded frame blocks and the notices, on the bridge thread, and must return at
once (queue the work; ``firmware_bridge.fanout``). Missing data is never silent: a device that
falls silent is ``stalled`` (a ``stall`` notice); a lost port is looked for every 0.1 s and
reopened only when the same device is back (``disconnect``, ``reconnect``, or ``wrong_device``
for another device found there); and when data flows again a ``gap`` notice spans the hole, from
the last byte before it to the first byte after it. The decoder is flushed when the port is lost
and when the bridge stops, so every byte read is counted as decoded or undecodable.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from typing import Any

import serial

from firmware_bridge.errors import DeviceError
from firmware_bridge.fanout import Fanout, Hooks, Listener, RawHistory
from firmware_bridge.frames import FLAG_AFTER_GAP, Counters, Notice
from firmware_bridge.ports import PortIdentity, PortWatch, arrival_time, open_port, read_arrived
from firmware_bridge.profiles import Profile
from firmware_bridge.protocols import Decoded, Decoder, make_decoder
from firmware_bridge.words import BRIDGE_STATES

__all__ = ["STATES", "Bridge", "Listener", "RawHistory", "default_stall_s"]

log = logging.getLogger(__name__)

STATES = BRIDGE_STATES
BRIDGE_NOTICE_KINDS = ("disconnect", "reconnect", "gap", "stall", "wrong_device")  # never coalesced
RATE_WINDOW_S = 2.0
POLL_RETRY_S = 0.25  # a polled device that has not answered for this long is asked again
LOOK_S = (0.05, 0.1)  # a lost or absent port is looked for this often (first, then at most)
STALL_PERIODS = 5  # a device silent for this many frame periods has stalled ...
MIN_STALL_S = 1.0  # ... but never sooner than this
NO_RATE_STALL_S = 2.0  # for a profile without a nominal rate


def default_stall_s(profile: Profile) -> float:
    """Seconds of silence after which ``profile``'s device is taken to have stalled: a few frame
    periods at its nominal rate, at least a second, unless the profile sets ``stall_after_s``."""
    if profile.stall_after_s is not None:
        return profile.stall_after_s
    rate = profile.nominal_rate_hz
    return max(MIN_STALL_S, STALL_PERIODS / rate) if rate else NO_RATE_STALL_S


def _add(a: Counters, b: Counters) -> Counters:
    bd = b.as_dict()
    return Counters(**{k: v + bd[k] for k, v in a.as_dict().items()})


class Bridge:
    """Reads ``url`` with ``profile``'s decoder in a background thread and fans out to listeners.

    ``reconnect`` looks for a lost or absent port forever, every ``backoff[0]`` seconds at first,
    doubling up to ``backoff[1]``, and reopens it only when the device found there is the one
    first opened (``ports.PortIdentity``). ``stall_after``: seconds of silence that make the
    device ``stalled`` (default: ``default_stall_s(profile)``). ``counters`` merges the decoder's
    counters with the bridge's own (bytes read, reconnects, stalls, wrong devices).
    """

    def __init__(self, url: str, profile: Profile, *, reconnect: bool = True,
                 backoff: tuple[float, float] = LOOK_S, read_timeout: float = 0.05,
                 stall_after: float | None = None) -> None:
        self.url = url
        self.profile = profile
        self.reconnect = reconnect
        self.backoff = backoff
        self.read_timeout = read_timeout
        self.stall_after = stall_after if stall_after is not None else default_stall_s(profile)
        self.decoder: Decoder = make_decoder(profile)
        self.error: DeviceError | None = None  # why the port is not open now, if it is not
        self.identity: PortIdentity | None = None  # the device first opened (None: no way to tell)
        self.refused: PortIdentity | None = None  # another device found at the port, not opened
        self.gap_since: float | None = None  # host time of the last byte before an open gap
        self._fan = Fanout()
        self._watch = PortWatch(url)
        self._state = "stopped"
        self._own = Counters()  # the bridge's own counts: bytes, reconnects, stalls, ...
        self._retired = Counters()  # counts of decoders replaced after a reconnect
        self._counters_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._port: serial.SerialBase | None = None
        self._preopened: serial.SerialBase | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._rate: deque[tuple[float, int]] = deque()
        self._rate_since = 0.0
        self._rate_lock = threading.Lock()
        self._last_data_time: float | None = None
        self._quiet_since = 0.0  # the last byte or the (re)open, whichever came later
        self._opened = False
        self._mark_after_gap = False
        self._last_poll = 0.0

    # -- public face -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """``connecting``, ``connected``, ``stalled`` (open, but silent for longer than
        ``stall_after``), ``disconnected`` or ``stopped``."""
        return self._state

    @property
    def counters(self) -> Counters:
        """A snapshot: the decoder's counts and the bridge's own (bytes read, reconnects, stalls,
        wrong devices)."""
        with self._counters_lock:
            merged = _add(self._retired, self.decoder.counters)
        own = self._own
        merged.bytes, merged.reconnects = own.bytes, own.reconnects
        merged.stalls, merged.wrong_device = own.stalls, own.wrong_device
        return merged

    @property
    def history(self) -> RawHistory:
        """The reads the current decoder was fed (handed to a listener added with history)."""
        return self._fan.history

    @property
    def listener_errors(self) -> int:
        return self._fan.errors

    @property
    def silent_s(self) -> float | None:
        """While ``stalled``: seconds since the last byte; else None."""
        since = self.gap_since
        if self._state != "stalled" or since is None:
            return None
        return time.monotonic() - since

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

    def add_listener(self, listener: Any, *, history: bool = False) -> Counters:
        """Hand everything read from now on to ``listener`` as well; the counters at that
        moment (no read is half handed on then, so they count exactly what it will not get).

        With ``history``, ``listener.on_history(reads)`` first gets the reads the current decoder
        was fed so far (``RawHistory``): exactly those it will not get through ``on_raw``.
        """
        with self._fan.handing:
            self._fan.add(listener, history)
            return self.counters

    def remove_listener(self, listener: Listener | Any) -> Counters:
        """Stop handing things to ``listener`` (no error if it was not there); the counters at
        that moment, which count everything it was handed (see ``add_listener``)."""
        with self._fan.handing:
            self._fan.remove(listener)
            return self.counters

    @classmethod
    def check(cls, url: str, profile: Profile) -> None:
        """Open and close ``url`` once; a DeviceError says why a port is not usable."""
        open_port(url, profile.serial).close()

    def open_once(self) -> None:
        """Open the port now, in the caller's thread, so a missing port fails fast (DeviceError).

        The open port is handed to the thread that ``start()`` launches.
        """
        self._preopened = open_port(self.url, self.profile.serial, self.read_timeout)
        self.identity = self._watch.identity()

    def start(self) -> None:
        """Start the reading thread (once)."""
        if self._thread is not None:
            raise RuntimeError("a Bridge can be started only once")
        self._state = "connecting"
        self._thread = threading.Thread(target=self._run, name=f"sotlog-bridge {self.url}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading, close the port and wait up to ``timeout`` s for the thread to end.

        The thread flushes the decoder as it ends: what it held is counted, the notices go out.
        """
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
                    self._connected_to(port)
                    self._pump(port)
                except (serial.SerialException, OSError) as err:
                    self._lost(err)
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
            self._end()

    def _end(self) -> None:
        """The thread ends: flush the decoder, close an open gap, pass on held notices."""
        now = arrival_time()
        with contextlib.suppress(serial.SerialException, OSError):
            self._flush_decoder(now)
        if self.gap_since is not None and self._stop.is_set():
            self._gap_ended(now, "until the bridge stopped")
        self._fan.flush_notices(now, force=True)
        if self._stop.is_set():
            self._state = "stopped"

    def _open(self) -> serial.SerialBase | None:
        """The port, if it is there and holds the device first opened; None to look again."""
        if self._preopened is not None:
            port, self._preopened = self._preopened, None
            return port
        if not self._same_device():
            return None
        try:
            port = open_port(self.url, self.profile.serial, self.read_timeout)
        except DeviceError as err:
            if self.error is None or str(err) != str(self.error):
                log.info("%s", err)
            self.error = err
            return None
        if self.identity is None:
            self.identity = self._watch.identity()
        elif not self._same_device():  # it changed between the look and the open
            self._close(port)
            return None
        return port

    def _same_device(self) -> bool:
        """False when a device other than the one first opened is at the port (say so once)."""
        first = self.identity
        found = self._watch.identity() if first is not None else None
        if first is None or found is None or first.same_device(found):
            return True
        if first.kind == "usb" and found.kind == "node":
            return False  # a USB port the system has not described yet: look again soon
        refused = self.refused
        if refused is None or (refused.kind, refused.key) != (found.kind, found.key):
            self.refused = found  # said once per device found, wherever a link leads from
            self._own.wrong_device += 1
            text = (f"{self.url} now holds another device ({found.text}), not the one opened "
                    f"first ({first.text}): not opened; waiting for that one")
            self.error = DeviceError(text)
            log.warning("%s", text)
            self._fan.emit(Notice(time.monotonic(), "wrong_device", text,
                                  {"expected": first.text, "found": found.text}))
        return False

    def _connected_to(self, port: serial.SerialBase) -> None:
        now = time.monotonic()
        self.error = self.refused = None
        if self._opened:
            self._own.reconnects += 1
            # The old decoder was flushed when the port was lost; keep its counts (decoders may
            # hold references to their own Counters, so add, not share).
            fresh = make_decoder(self.profile)
            with self._counters_lock:
                self._retired = _add(self._retired, self.decoder.counters)
                self.decoder = fresh
            with self._fan.lock:
                self._fan.history.clear()
            self._fan.emit(Notice(now, "reconnect", f"{self.url} is back",
                                  {"last_data": self.gap_since, "reopened": now}))
        self._opened = True
        with self._rate_lock:
            self._rate.clear()
            self._rate_since = now
        self._quiet_since = now
        self._port = port
        self._state = "connected"
        self._connected.set()
        start, poll = self.decoder.start_request(), self.decoder.poll_request()
        self._send(port, start)
        if poll != start:  # a polled device whose start request is its first poll
            self._send(port, poll)

    def _lost(self, err: BaseException) -> None:
        now = arrival_time()
        last_good = self._last_data_time if self._last_data_time is not None else now
        self._state = "disconnected"
        self._connected.clear()
        cut = self._flush_decoder(now)
        if self.gap_since is None:
            self.gap_since = self._quiet_since  # the last byte, or the open if none came since
        self._fan.flush_notices(now, force=True)
        self._fan.emit(Notice(now, "disconnect", f"{self.url} lost: {err}",
                              {"last_data": last_good, "cut_bytes": cut}))

    def _flush_decoder(self, now: float) -> int:
        """The stream was cut: what the decoder holds is counted, nothing more is decoded; the
        bytes of the line or frame it cut short."""
        with self._fan.handing:
            before = self.decoder.counters.cut_bytes
            self._take(self.decoder.flush(now, cut=True), now, self._fan.hooks)
            return self.decoder.counters.cut_bytes - before

    def _pump(self, port: serial.SerialBase) -> None:
        poll = self.decoder.poll_request() is not None
        while not self._stop.is_set():
            data = read_arrived(port)
            now = arrival_time()
            if not data:
                if poll and now - self._last_poll >= POLL_RETRY_S:
                    self._send(port, self.decoder.poll_request())
                if self._state == "connected" and now - self._quiet_since >= self.stall_after:
                    self._stalled(now)
                self._fan.flush_notices(now)
                continue
            if self.gap_since is not None:
                self._gap_ended(now)
            self._last_data_time = self._quiet_since = now
            with self._fan.handing:  # counted and handed on as one, for add/remove_listener
                self._own.bytes += len(data)
                hooks = self._fan.raw(data, now)
                decoded = self._take(self.decoder.feed(data, now), now, hooks)
                self._fan.flush_notices(now)
            if decoded and poll:
                self._send(port, self.decoder.poll_request())

    def _take(self, decoded: Decoded, now: float, hooks: tuple[Hooks, ...]) -> bool:
        """Hand on what the decoder gave; True when it completed frames. The frames go to the
        listeners their bytes went to (a listener added in between gets those bytes in its
        history instead)."""
        block = decoded.frames
        if block is not None and len(block):
            if self._mark_after_gap:
                block.flags[0] |= FLAG_AFTER_GAP
                self._mark_after_gap = False
            with self._rate_lock:
                self._rate.append((now, len(block)))
                while self._rate[0][0] < now - RATE_WINDOW_S:  # bounded even if nobody asks
                    self._rate.popleft()
            self._fan.frames(block, hooks)
        for notice in decoded.notices:
            self._fan.coalesce(notice)
        return block is not None and len(block) > 0

    def _stalled(self, now: float) -> None:
        """Connected, and nothing came for ``stall_after`` seconds: say so, and open a gap."""
        self._state = "stalled"
        self._own.stalls += 1
        if self.gap_since is None:
            self.gap_since = self._quiet_since
        silent = now - self._quiet_since
        self._fan.emit(Notice(now, "stall", f"no data from {self.url} for {silent:.1f} s",
                              {"last_data": self.gap_since, "silent_s": silent,
                               "stall_after_s": self.stall_after}))

    def _gap_ended(self, now: float, how: str = "") -> None:
        """Data again (or the bridge stops): one ``gap`` notice from the last byte to now."""
        start, self.gap_since = self.gap_since, None
        assert start is not None
        if self._state == "stalled":
            self._state = "connected"
        self._mark_after_gap = True
        duration = now - start
        self._fan.emit(Notice(now, "gap", f"no data for {duration:.3f} s{' ' + how if how else ''}",
                              {"start": start, "end": now, "duration_s": duration}))

    def _send(self, port: serial.SerialBase, data: bytes | None) -> None:
        if data:
            with self._write_lock:
                port.write(data)
            self._last_poll = time.monotonic()

    @staticmethod
    def _close(port: serial.SerialBase) -> None:
        with contextlib.suppress(serial.SerialException, OSError):  # the device may be gone
            port.close()
