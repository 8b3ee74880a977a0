"""How a simulated device puts samples on the wire, one class per protocol, chosen by name."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np

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


WIRES: dict[str, Callable[[], Wire]] = {
    "lines": TimedLines,
    "matrix_lines": PlainLines,
    "blockframe": Blockframes,
}
