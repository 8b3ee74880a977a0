"""The checksums a binary record may carry, by name: each computed over many records at once.

A record's checksummed bytes are one row of a ``(records, bytes)`` uint8 array. The sums are
numpy reductions over the rows. A CRC of many short rows is table-driven in numpy, one step per
byte column for all rows at once; of few or long rows, anycrc's compiled CRC, one call per row.
Never a Python loop over a stream's bytes. Each CRC is named by its catalogue name, because
"CRC-16/CCITT" is said of several different ones (docs/protocol.md lists their check values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anycrc
import numpy as np

# Rows at least this many and this short go through the numpy table (measured: 0.1-0.25 us a
# row of 16 bytes for thousands of rows, against 0.7-2 us a row for one anycrc call each).
MANY_ROWS, SHORT_ROW = 32, 64


def _sum8(rows: np.ndarray) -> np.ndarray:
    return rows.sum(axis=1, dtype=np.uint64) & np.uint64(0xFF)


def _xor8(rows: np.ndarray) -> np.ndarray:
    return np.bitwise_xor.reduce(rows, axis=1).astype(np.uint64)


def _table(width: int, poly: int, reflected: bool) -> np.ndarray:
    """The 256-entry table of a CRC (computed once, at import)."""
    top, mask = 1 << (width - 1), (1 << width) - 1
    out = np.zeros(256, np.uint64)
    for i in range(256):
        c = i if reflected else i << (width - 8)
        for _ in range(8):
            if reflected:
                c = (c >> 1) ^ poly if c & 1 else c >> 1
            else:
                c = ((c << 1) ^ poly if c & top else c << 1) & mask
        out[i] = c
    return out


def _crc(model: str, width: int, poly: int, init: int, reflected: bool,
         xorout: int) -> Callable[[np.ndarray], np.ndarray]:
    """A CRC of the rows; ``poly`` as the table wants it (reversed when reflected)."""
    calc = anycrc.Model(model).calc
    table = _table(width, poly, reflected)
    shift, eight = np.uint64(width - 8), np.uint64(8)
    mask, ff = np.uint64((1 << width) - 1), np.uint64(0xFF)

    def rows_at_once(rows: np.ndarray) -> np.ndarray:
        crc = np.full(len(rows), init, np.uint64)
        for j in range(rows.shape[1]):
            col = rows[:, j].astype(np.uint64)
            if reflected:
                crc = table[(crc ^ col) & ff] ^ (crc >> eight)
            else:
                crc = table[((crc >> shift) ^ col) & ff] ^ ((crc << eight) & mask)
        return crc ^ np.uint64(xorout)

    def each(rows: np.ndarray) -> np.ndarray:
        if len(rows) >= MANY_ROWS and rows.shape[1] <= SHORT_ROW:
            return rows_at_once(rows)
        return np.fromiter((calc(row) for row in rows), np.uint64, len(rows))  # rows: contiguous

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
    "crc16-ccitt-false": Checksum(2, 0x29B1, _crc("CRC16-IBM-3740", 16, 0x1021, 0xFFFF, False, 0)),
    "crc16-kermit": Checksum(2, 0x2189, _crc("CRC16-KERMIT", 16, 0x8408, 0, True, 0)),
    "crc16-xmodem": Checksum(2, 0x31C3, _crc("CRC16-XMODEM", 16, 0x1021, 0, False, 0)),
    "crc16-x25": Checksum(2, 0x906E, _crc("CRC16-IBM-SDLC", 16, 0x8408, 0xFFFF, True, 0xFFFF)),
    "crc16-modbus": Checksum(2, 0x4B37, _crc("CRC16-MODBUS", 16, 0xA001, 0xFFFF, True, 0)),
    "crc32": Checksum(4, 0xCBF43926,
                      _crc("CRC32-ISO-HDLC", 32, 0xEDB88320, 0xFFFFFFFF, True, 0xFFFFFFFF)),
}
