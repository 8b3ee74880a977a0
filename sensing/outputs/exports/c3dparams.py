"""The parameter section of a written C3D file: how many 512-byte blocks it takes, and one fix.

C3D gives the parameter section's length in one byte, so it holds at most ``MAX_BLOCKS`` blocks;
readers that trust that byte (the ``c3d`` package, ezc3d's strict check) fail past it. And
ezc3d writes a one-element parameter as a single value with no dimensions, which readers that
expect an array (``c3d``'s ``ANALOG:OFFSET`` and ``ANALOG:SCALE`` of a single channel) refuse;
``as_arrays`` rewrites such parameters as one-element arrays, in place.
"""

from __future__ import annotations

import struct
from pathlib import Path

BLOCK = 512
MAX_BLOCKS = 255


def _section(data: bytes | bytearray) -> tuple[int, int]:
    """(first byte, number of blocks) of the parameter section, from the file header."""
    start_block = data[0]
    data_start = struct.unpack_from("<H", data, 16)[0]  # header word 9: first data block
    return (start_block - 1) * BLOCK, data_start - start_block


def parameter_blocks(path: Path) -> int:
    """How many blocks the parameter section of the C3D file at ``path`` takes."""
    with open(path, "rb") as fh:
        return _section(fh.read(BLOCK))[1]


def _records(data: bytearray, first: int) -> list[tuple[int, int, str, int]]:
    """(start, group id, name, offset field position) of every record, in file order."""
    out = []
    at = first + 4
    while True:
        size = abs(struct.unpack_from("b", data, at)[0])
        if size == 0:
            break
        group = struct.unpack_from("b", data, at + 1)[0]
        name = bytes(data[at + 2:at + 2 + size]).decode("ascii", "replace")
        field = at + 2 + size
        out.append((at, group, name, field))
        step = struct.unpack_from("<H", data, field)[0]
        if step == 0:
            break
        at = field + step
    return out


def _end(data: bytearray, group: int, field: int) -> int:
    """The byte after the record whose offset field is at ``field``."""
    at = field + 2
    if group > 0:  # a parameter: type, dimensions, values
        size = abs(struct.unpack_from("b", data, at)[0])
        dims = data[at + 2:at + 2 + data[at + 1]]
        count = 1
        for d in dims:
            count *= d
        at += 2 + len(dims) + size * count
    return at + 1 + data[at]  # the description


def as_arrays(path: Path, group: str, names: tuple[str, ...]) -> bool:
    """Rewrite the dimensionless parameters ``group:names`` of a C3D file as one-element arrays;
    False when the section has no spare byte for it (the file is then left as it was)."""
    data = bytearray(path.read_bytes())
    first, blocks = _section(data)
    records = _records(data, first)
    gid = next((-g for _, g, n, _ in records if g < 0 and n == group), None)
    targets = [(at, field) for at, g, n, field in records if g == gid and n in names
               and data[field + 3] == 0]  # offset(2), type(1), then the dimension count
    if not targets:
        return True
    _, last_group, _, last_field = records[-1]
    if first + blocks * BLOCK - _end(data, last_group, last_field) < len(targets):
        return False
    section = data[first:first + blocks * BLOCK]
    for _, field in sorted(targets, reverse=True):  # from the end: earlier places stay put
        at = field - first
        struct.pack_into("<H", section, at, struct.unpack_from("<H", section, at)[0] + 1)
        section[at + 3:at + 4] = b"\x01\x01"  # one dimension, of size 1
    data[first:first + blocks * BLOCK] = section[:blocks * BLOCK]  # the padding shortens
    path.write_bytes(bytes(data))
    return True
