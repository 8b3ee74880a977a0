"""The checksums a binary record may carry, by name: each computed over many records at once.

A record's checksummed bytes are one row of a ``(records, bytes)`` uint8 array. The sums are
numpy reductions over the rows; the CRCs are anycrc's (compiled, table-driven), one call per
record, never a Python loop over bytes. Each CRC is named by its catalogue name, because
"CRC-16/CCITT" is said of several different ones (docs/protocol.md lists their check values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anycrc
import numpy as np


def _sum8(rows: np.ndarray) -> np.ndarray:
    return rows.sum(axis=1, dtype=np.uint64) & np.uint64(0xFF)


def _xor8(rows: np.ndarray) -> np.ndarray:
    return np.bitwise_xor.reduce(rows, axis=1).astype(np.uint64)


def _crc(model: str) -> Callable[[np.ndarray], np.ndarray]:
    calc = anycrc.Model(model).calc

    def each(rows: np.ndarray) -> np.ndarray:  # each row is contiguous, even in a window view
        return np.fromiter((calc(row) for row in rows), np.uint64, len(rows))

    return each


@dataclass(frozen=True)
class Checksum:
    """One checksum: its size in bytes, its value for "123456789" (the catalogue's check), and
    the function giving each row's value."""

    size: int
    check: int
    of_rows: Callable[[np.ndarray], np.ndarray]

    def of(self, data: bytes) -> int:
        """The checksum of one run of bytes."""
        return int(self.of_rows(np.frombuffer(data, np.uint8).reshape(1, -1))[0])


CHECKSUMS: dict[str, Checksum] = {
    "sum8": Checksum(1, 0xDD, _sum8),
    "xor8": Checksum(1, 0x31, _xor8),
    "crc16-ccitt-false": Checksum(2, 0x29B1, _crc("CRC16-IBM-3740")),
    "crc16-kermit": Checksum(2, 0x2189, _crc("CRC16-KERMIT")),
    "crc16-xmodem": Checksum(2, 0x31C3, _crc("CRC16-XMODEM")),
    "crc16-x25": Checksum(2, 0x906E, _crc("CRC16-IBM-SDLC")),
    "crc16-modbus": Checksum(2, 0x4B37, _crc("CRC16-MODBUS")),
    "crc32": Checksum(4, 0xCBF43926, _crc("CRC32-ISO-HDLC")),
}
