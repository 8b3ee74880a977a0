"""How a simulated device puts samples on the wire, one class per protocol, chosen by name."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np

from firmware_bridge.profiles import load_profile
from firmware_bridge.protocols._record import Layout, layout_of
from firmware_bridge.protocols.binary import encode_records
from firmware_bridge.protocols.blockframe import encode_frame


class Wire(abc.ABC):
    """Turns a run of samples into bytes, one string per sample.

    ``values`` is ``(n, channels)`` or ``(n, rows, cols)``.
    """

    def header(self, names: Sequence[str]) -> bytes:
        """What the device sends once after reset, before the first sample."""
        return b""

    @abc.abstractmethod
    def render(self, seq0: int, device_us: np.ndarray, values: np.ndarray) -> list[bytes]:
        """The bytes of each of ``len(values)`` samples; the first has sequence number ``seq0``."""

    @abc.abstractmethod
    def estimate(self, sample: np.ndarray) -> int:
        """About how many bytes one sample like ``sample`` takes (to bound the receive buffer)."""


def _csv(table: np.ndarray) -> list[bytes]:
    """Integer rows as comma-separated lines with CRLF endings, as an Arduino ``println`` sends."""
    return [(",".join(map(str, row)) + "\r\n").encode("ascii") for row in table.tolist()]


class TimedLines(Wire):
    """``time_ms,<names>`` header, then ``millis,v,v,...`` lines."""

    def header(self, names: Sequence[str]) -> bytes:
        return ("time_ms," + ",".join(names) + "\r\n").encode("ascii")

    def render(self, seq0: int, device_us: np.ndarray, values: np.ndarray) -> list[bytes]:
        flat = values.reshape(values.shape[0], -1).astype(np.int64)
        return _csv(np.column_stack([device_us // 1000, flat]))

    def estimate(self, sample: np.ndarray) -> int:
        return 10 + 9 * sample.size


class PlainLines(Wire):
    """One line per frame, all values row by row, no time column and no header."""

    def render(self, seq0: int, device_us: np.ndarray, values: np.ndarray) -> list[bytes]:
        return _csv(values.reshape(values.shape[0], -1))

    def estimate(self, sample: np.ndarray) -> int:
        return 2 + 5 * sample.size


class Blockframes(Wire):
    """sotlog's own binary frames, written by ``firmware_bridge.protocols.blockframe``."""

    def __init__(self) -> None:
        self._encode: Callable[[np.ndarray, int, int], bytes] = encode_frame

    def render(self, seq0: int, device_us: np.ndarray, values: np.ndarray) -> list[bytes]:
        encode, times = self._encode, device_us.tolist()
        return [encode(values[i], seq0 + i, times[i]) for i in range(values.shape[0])]

    def estimate(self, sample: np.ndarray) -> int:
        return len(self._encode(sample, 0, 0))


class BinaryRecords(Wire):
    """Binary records laid out as the built-in profile ``sim-loadcells-binary`` says, with as
    many int32 values as the device has cells."""

    PROFILE = "sim-loadcells-binary"

    def __init__(self) -> None:
        self._layouts: dict[int, Layout] = {}

    def _layout(self, count: int) -> Layout:
        if count not in self._layouts:
            self._layouts[count] = layout_of(load_profile(self.PROFILE), count)
        return self._layouts[count]

    def render(self, seq0: int, device_us: np.ndarray, values: np.ndarray) -> list[bytes]:
        n = values.shape[0]
        lay = self._layout(values[0].size if n else 1)
        data = encode_records(lay, values.reshape(n, -1), np.arange(seq0, seq0 + n), device_us)
        return [data[k * lay.size:(k + 1) * lay.size] for k in range(n)]

    def estimate(self, sample: np.ndarray) -> int:
        return self._layout(sample.size).size


WIRES: dict[str, Callable[[], Wire]] = {
    "lines": TimedLines,
    "matrix_lines": PlainLines,
    "blockframe": Blockframes,
    "binary": BinaryRecords,
}
