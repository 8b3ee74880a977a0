"""pyserial handler for ``sim://`` URLs: a simulated device behind the ordinary ``Serial`` API.

``sim://loadcells?...`` and ``sim://mat?...``; the options are documented in
``firmware_bridge.sim`` and docs/simulator.md. Bytes fall due on the wall clock as a real device
sends them: ``read`` blocks until ``size`` bytes or the timeout, ``in_waiting`` counts the bytes
due, ``write`` is accepted and passed to the device (which ignores it).
"""

from __future__ import annotations

import math
import numbers
import threading
import time
from typing import Any

from serial.serialutil import PortNotOpenError, SerialBase, SerialException, to_bytes

from firmware_bridge.errors import DeviceError
from firmware_bridge.sim import CommonConfig, SimDevice, make_device

# Samples are rendered this many wall seconds ahead (at most AHEAD_BYTES), then released as they
# fall due: a slow device costs a few numpy calls a second, not a few per sample.
AHEAD_S = 0.25
AHEAD_BYTES = 1 << 18
# URL -> time.monotonic() until which opening it fails (the ``down`` option after an unplug)
_unplugged_until: dict[str, float] = {}
_unplugged_lock = threading.Lock()


class Serial(SerialBase):
    """A simulated device as a serial port."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._device: SimDevice | None = None
        self._config: CommonConfig | None = None
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._t0 = 0.0
        self._step = 1.0  # wall seconds between samples
        self._next = 0  # index of the next sample to fall due
        self._ahead: list[bytes] = []  # rendered samples not yet due, from index _ahead_k
        self._ahead_k = 0
        self._batch = 1
        self._paused = (0, 0)  # sample indices never sent: the ``pause`` option
        self._lost = False
        self.overruns = 0  # samples lost because the receive buffer was full
        self.is_open: bool = False
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        """Build the device from the URL; a bad URL or an unplugged device is a SerialException."""
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        url = str(self._port)
        try:
            config, device = make_device(url)
        except DeviceError as err:
            raise SerialException(str(err)) from err
        with _unplugged_lock:
            wait = _unplugged_until.get(url, 0.0) - time.monotonic()
            if wait <= 0:
                _unplugged_until.pop(url, None)
        if wait > 0:
            raise SerialException(f"could not open port {url}: device unplugged "
                                  f"({wait:.1f} s more)")
        self._reconfigure_port()
        with self._lock:
            self._config, self._device = config, device
            self._step = 1.0 / (device.rate * config.speed)
            self._buf = bytearray(device.header())
            self._next = 0
            self._ahead, self._ahead_k = [], 0
            rate = device.rate * config.speed
            most = max(1, AHEAD_BYTES // device.bytes_per_sample)
            self._batch = max(1, min(math.ceil(AHEAD_S * rate), most))
            if config.pause_after is not None:
                self._paused = (math.ceil(config.pause_after / self._step),
                                math.ceil((config.pause_after + config.pause) / self._step))
            self._lost = False
            self.overruns = 0
            self._cancel.clear()
            self._t0 = time.monotonic()
        self.is_open = True

    def close(self) -> None:
        self.is_open = False
        self._cancel.set()

    def _reconfigure_port(self) -> None:
        # nothing to configure, but a nonsense baud rate is refused as a real port would
        baud = self._baudrate
        if not isinstance(baud, numbers.Integral) or not 0 < int(baud) < 2**32:
            raise ValueError(f"invalid baudrate: {baud!r}")

    def _pump(self, now: float) -> None:
        """Render every sample due by ``now`` into the buffer (caller holds the lock)."""
        config, device = self._config, self._device
        assert config is not None and device is not None
        if self._lost:
            raise SerialException(f"{self._port}: device disconnected")
        if config.disconnect_after is not None and now - self._t0 >= config.disconnect_after:
            self._lost = True
            with _unplugged_lock:
                _unplugged_until[str(self._port)] = now + config.down
            raise SerialException(f"{self._port}: device disconnected (simulated unplug)")
        due = int((now - self._t0) / self._step) + 1
        lo, hi = self._paused
        if lo <= self._next < hi:  # silent: these samples are never sent
            self._next = hi
        if due <= self._next:
            return
        if self._next < lo < due:  # up to the silence; the next call goes on after it
            due = lo
        room = max(0, config.buffer - len(self._buf))
        end = min(due, self._next + room // device.bytes_per_sample)
        if end > self._next:
            self._buf += b"".join(self._take(self._next, end))
        self.overruns += due - end
        self._next = due

    def _take(self, k0: int, k1: int) -> list[bytes]:
        """Samples ``k0..k1-1``, from those rendered ahead, rendering a batch more when short."""
        assert self._device is not None
        ahead = self._ahead
        skip = k0 - self._ahead_k  # samples lost to an overrun are dropped from the cache too
        del ahead[:skip]
        if not ahead:
            self._ahead_k = k0
        short = k1 - k0 - len(ahead)
        if short > 0:
            first = k0 + len(ahead)
            ahead += self._device.render(first, first + max(short, self._batch))
        out = ahead[: k1 - k0]
        del ahead[: k1 - k0]
        self._ahead_k = k1
        return out

    @property
    def in_waiting(self) -> int:
        """Bytes due and not yet read."""
        if not self.is_open:
            raise PortNotOpenError()
        with self._lock:
            self._pump(time.monotonic())
            return len(self._buf)

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes: blocks until that many are due, or the timeout passes."""
        if not self.is_open:
            raise PortNotOpenError()
        timeout, gap = self._timeout, self._inter_byte_timeout
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        out = bytearray()
        last_rx = start
        while True:
            now = time.monotonic()
            with self._lock:
                self._pump(now)
                if self._buf:
                    take = size - len(out)
                    out += self._buf[:take]
                    del self._buf[:take]
                    last_rx = now
                next_due = self._t0 + self._next * self._step
            if len(out) >= size or timeout == 0 or (deadline is not None and now >= deadline):
                break
            if gap and out and now - last_rx >= gap:
                break
            wake = next_due if deadline is None else min(next_due, deadline)
            if gap and out:
                wake = min(wake, last_rx + gap)
            if self._cancel.wait(max(0.0, wake - now)) or not self.is_open:
                self._cancel.clear()
                break
        return bytes(out)

    def cancel_read(self) -> None:
        self._cancel.set()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Hand ``data`` to the device; a simulated link never blocks."""
        if not self.is_open:
            raise PortNotOpenError()
        payload = to_bytes(data)
        with self._lock:
            self._pump(time.monotonic())
            assert self._device is not None
            self._device.write(payload)
        return len(payload)

    def reset_input_buffer(self) -> None:
        """Discard what is due and not yet read."""
        if not self.is_open:
            raise PortNotOpenError()
        with self._lock:
            self._pump(time.monotonic())
            self._buf.clear()

    def reset_output_buffer(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()

    @property
    def out_waiting(self) -> int:
        return 0

    def _update_break_state(self) -> None:
        pass

    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True
