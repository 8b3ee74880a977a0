"""The parts a column codec is named from: an exact transform of the array, then a compressor.

A codec name is ``<transform>-<compressor>`` (``delta-zigzag-shuffle-zstd``), or the compressor
alone for bytes as they are (``zlib``). Every transform is exact: ``inverse(forward(a))`` is
bit-identical to ``a``; one that cannot be (a float column that is not a whole number of its
unit) says so by returning None, and another is chosen. Docs: docs/store.md, "Codecs".
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from firmware_bridge import native
from firmware_bridge.errors import StoreError

Forward = Callable[[np.ndarray], "bytes | None"]
Inverse = Callable[[bytes, np.dtype[Any], tuple[int, ...]], np.ndarray]

zstd: ModuleType | None
try:  # the `fast` extra
    import zstandard as zstd
except ImportError:
    zstd = None

_deflater: ModuleType
try:  # ISA-L writes zlib streams 3-4x faster than zlib, as small at its level 1 (bench/importer.py)
    from isal import isal_zlib as _deflater
except ImportError:  # zlib's own: the same format, read back alike
    _deflater = zlib

ZLIB_LEVEL = 1  # level 1 is within ~1 % of level 3 on mats, at half the time
# zstd levels by when a column is written (bench/storage.py measures them): while recording
# (every half second, and a mat writes hundreds of kB/s: level 1 is faster than level 3 and as
# small or smaller, on load-cell text and on a mat, and 20 % smaller than zlib's level 1), and
# when a closed session's small rows are gathered, once: level 19 makes a minute of load cells
# 30 % smaller than levels 1-15, at 4 MB/s, so only columns of up to ZSTD_GATHER_BYTES get it
# (a slow mat's minute of values gets level 1).
ZSTD_LIVE = 1
ZSTD_GATHER = 19
ZSTD_GATHER_BYTES = 1 << 20
NO_ZSTD = ("this store holds samples compressed with zstd: install sotlog's `fast` extra "
           "(pip install 'sotlog[fast]') to read them")


def little(a: np.ndarray) -> np.ndarray:
    """C-contiguous, little-endian, so the stored bytes mean the same on every machine."""
    dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
    return np.ascontiguousarray(a, dtype=dt)


# -- compressors -------------------------------------------------------------------------------

def deflate(data: bytes) -> bytes:
    """``data`` as a zlib stream (``zlib.decompress`` reads it back), the fastest way at hand."""
    return _deflater.compress(data, ZLIB_LEVEL)


def _zstd_compress(data: bytes, gather: bool) -> bytes:
    assert zstd is not None
    hard = gather and len(data) <= ZSTD_GATHER_BYTES
    return zstd.ZstdCompressor(level=ZSTD_GATHER if hard else ZSTD_LIVE).compress(data)


def _zstd_decompress(blob: bytes) -> bytes:
    if zstd is None:
        raise StoreError(NO_ZSTD)
    try:
        return zstd.ZstdDecompressor().decompress(blob)
    except zstd.ZstdError as err:
        raise ValueError(f"zstd: {err}") from err


# name -> (compress(data, gather), decompress(blob))
COMPRESSORS: dict[str, tuple[Callable[[bytes, bool], bytes], Callable[[bytes], bytes]]] = {
    "zlib": (lambda data, gather: deflate(data), zlib.decompress),
    "zstd": (_zstd_compress, _zstd_decompress),
}


def compressor() -> str:
    """The compressor new columns are written with: zstd where installed, else zlib."""
    return "zstd" if zstd is not None else "zlib"


def fastest() -> str:
    """The compressor that writes text fastest: ISA-L's zlib where installed (1.5x zstd's level
    1 on a load-cell log, 9 % larger: bench/importer.py), else ``compressor()``."""
    return "zlib" if _deflater is not zlib else compressor()


# -- transforms --------------------------------------------------------------------------------

def _shuffle(a: np.ndarray) -> bytes:
    """Byte planes: all first bytes, then all second bytes, ..."""
    return a.view(np.uint8).reshape(-1, a.dtype.itemsize).T.tobytes()


def _unshuffle(buf: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    planes = np.frombuffer(buf, np.uint8).reshape(dtype.itemsize, -1)
    return np.ascontiguousarray(planes.T).view(dtype).reshape(shape)


def _plain(a: np.ndarray) -> bytes:
    return little(a).tobytes()


def _unplain(buf: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(buf, dtype).reshape(shape).copy()


def _shuffled(a: np.ndarray) -> bytes:
    return _shuffle(little(a))


def _int_types(dtype: np.dtype[Any]) -> tuple[np.dtype[Any], np.dtype[Any], int]:
    bits = dtype.itemsize * 8
    return np.dtype(f"<u{dtype.itemsize}"), np.dtype(f"<i{dtype.itemsize}"), bits


def _delta(a: np.ndarray) -> bytes:
    """Integers along axis 0 as zigzag'd differences, byte-shuffled."""
    a = little(a)
    utype, itype, bits = _int_types(a.dtype)
    u = a.view(utype)
    # Differences wrap modulo 2**bits, so the cumulative sum on decode restores every bit.
    d = np.empty_like(u)
    if len(u):
        d[0] = u[0]
        np.subtract(u[1:], u[:-1], out=d[1:])
    s = d.view(itype)
    sign = np.right_shift(s, bits - 1)
    np.left_shift(s, 1, out=s)
    s ^= sign  # zigzag, in place
    return _shuffle(s.view(utype))


def _undelta(buf: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    utype, _, _ = _int_types(dtype)
    z = _unshuffle(buf, utype, shape)
    one = utype.type(1)
    d = np.right_shift(z, one) ^ (np.zeros_like(z) - (z & one))
    return np.cumsum(d, axis=0, dtype=utype).view(dtype.newbyteorder("<")).astype(dtype)


SAMPLE = 64  # values a float column is tried on first


def _whole_units(unit: float) -> tuple[Forward, Inverse]:
    """Float64 values that are whole numbers of ``unit`` (a device's millisecond ticks times
    1e-3, the host's microseconds times 1e-6, counts sent as text) as int64 deltas of those
    numbers; None for a column that is not, bit for bit."""
    def ticks(a: np.ndarray) -> np.ndarray | None:
        with np.errstate(invalid="ignore", over="ignore"):
            if unit == 1.0:  # whole numbers need no rounding
                k = a.astype(np.int64)
                back = k.astype(np.float64)
            else:
                q = a / unit
                k = np.rint(q, out=q).astype(np.int64)
                back = k.astype(np.float64)
                back *= unit
        return k if np.array_equal(back.view(np.uint64), little(a).view(np.uint64)) else None

    def forward(a: np.ndarray) -> bytes | None:
        if a.dtype.kind != "f" or a.dtype.itemsize != 8 or ticks(a[:SAMPLE]) is None:
            return None  # (a column that is not whole fails on its first values, cheaply)
        k = ticks(a)
        return None if k is None else _delta(k)

    def inverse(buf: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
        k = _undelta(buf, np.dtype("<i8"), shape).astype(np.float64)
        return (k * unit if unit != 1.0 else k).astype(dtype)

    return forward, inverse


TRANSFORMS: dict[str, tuple[Forward, Inverse]] = {
    "": (_plain, _unplain),
    "shuffle": (_shuffled, _unshuffle),
    "delta-zigzag-shuffle": (_delta, _undelta),
    "whole-delta": _whole_units(1.0),
    "milli-delta": _whole_units(1e-3),
    "micro-delta": _whole_units(1e-6),
    "nano-delta": _whole_units(1e-9),
}
# Tried in this order on a float64 column (the coarsest unit first): the first exact one is used.
UNITS = ("whole-delta", "milli-delta", "micro-delta", "nano-delta")


def split(codec: str) -> tuple[str, str]:
    """``(transform, compressor)`` of a codec name; ValueError for a name not known."""
    transform, _, comp = codec.rpartition("-")
    if transform not in TRANSFORMS or comp not in COMPRESSORS:
        raise ValueError(f"unknown chunk codec {codec!r}")
    return transform, comp


def name(transform: str, comp: str) -> str:
    return f"{transform}-{comp}" if transform else comp


def pack(a: np.ndarray, transform: str, comp: str, gather: bool = False) -> bytes | None:
    """``a`` transformed and compressed; None when ``transform`` cannot hold it exactly."""
    data = TRANSFORMS[transform][0](a)
    return None if data is None else COMPRESSORS[comp][0](data, gather)


def unpack(codec: str, blob: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    transform, comp = split(codec)
    return TRANSFORMS[transform][1](COMPRESSORS[comp][1](blob), dtype, shape)


def pack_bytes(data: bytes, comp: str, gather: bool = False) -> bytes:
    """Bytes compressed as they are (codec ``comp``: no transform), with no array between."""
    return COMPRESSORS[comp][0](data, gather)


def unpack_bytes(codec: str, blob: bytes) -> bytes:
    """The bytes a codec of bytes holds (the raw capture: ``pack_bytes``, ``pack_raw``), with no
    array between."""
    transform, _, comp = codec.rpartition("-")
    if transform not in BYTE_TRANSFORMS or comp not in COMPRESSORS:
        raise ValueError(f"codec {codec!r} does not hold bytes")
    return BYTE_TRANSFORMS[transform](COMPRESSORS[comp][1](blob))


# -- a raw capture's text, a nibble a byte ------------------------------------------------------
# A text log takes a dozen byte values (digits, '-', '.', a delimiter, CR, LF): ``nibbles``
# keeps a block of at most 16 values as its table of them and a nibble per byte (the C pass of
# firmware_bridge/_ctext.c), half the bytes for the compressor: a 2-hour load-cell log packs
# in 32 ms, against 73 ms for ISA-L's zlib of its text, as small (8.15 MB).
NIBBLES = "nibbles"


def _unnibbles(blob: bytes) -> bytes:
    """What ``nibbles`` was given: in C where built, else numpy (the same bytes)."""
    if native.ctext is not None:
        return native.ctext.unnibbles(blob)
    count = blob[0] if blob else 0
    if len(blob) < 2 + count or not 1 <= count <= 16 or blob[1 + count] > 1 or (
            blob[1 + count] and len(blob) == 2 + count):
        raise ValueError("not a nibble-packed blob")
    table = np.zeros(16, np.uint8)
    table[:count] = np.frombuffer(blob, np.uint8, count, 1)
    packed = np.frombuffer(blob, np.uint8, offset=2 + count)
    index = np.empty(2 * len(packed), np.uint8)
    np.bitwise_and(packed, 15, out=index[0::2])
    np.right_shift(packed, 4, out=index[1::2])
    return table.take(index[:len(index) - blob[1 + count]]).tobytes()


BYTE_TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {"": bytes, NIBBLES: _unnibbles}


def pack_raw(data: bytes) -> tuple[str, bytes]:
    """``(codec, blob)``: a block of raw bytes written once (an import's), the fastest way at
    hand. Text of at most 16 byte values as nibbles where the C passes are built, then zstd (or
    zlib without it); anything else compressed as it is by ``fastest()``."""
    ctext = native.ctext
    nibbles = ctext.nibbles(data) if ctext is not None else None
    if nibbles is not None:
        comp = compressor()
        return name(NIBBLES, comp), pack_bytes(nibbles, comp)
    comp = fastest()
    return comp, pack_bytes(data, comp)


# -- arrival times as references to the frames they completed ----------------------------------
# A gathered raw row of a load cell holds a read a line, and each line's frame has the read's
# arrival as its host time: the same number twice in the file. ``frame-refs`` keeps each read's
# arrival as the index of a frame (in the session) whose host time it is, and only the arrivals
# of reads that completed no frame as numbers: [refs, forward-filled, as ``delta-zigzag-shuffle``
# int64][a byte per read, 1 where the arrival is kept as a number][those arrivals, float64].
REFS = "frame-refs"
FrameTimes = Callable[[int, int], np.ndarray]  # host times of the session's frames lo..hi-1


def pack_refs(arrival: np.ndarray, refs: np.ndarray, comp: str, gather: bool) -> bytes:
    """``arrival`` (n reads) given ``refs``: the frame each read's arrival is the host time of,
    -1 where none is."""
    own = refs < 0
    last = np.maximum.accumulate(np.where(own, -1, np.arange(len(refs))))  # (a linked read's)
    filled = np.where(own, np.where(last >= 0, refs[np.maximum(last, 0)], 0), refs)
    parts = (_delta(np.asarray(filled, np.int64)), own.astype(np.uint8).tobytes(),
             little(arrival[own]).astype("<f8").tobytes())
    return COMPRESSORS[comp][0](b"".join(parts), gather)


def unpack_refs(codec: str, blob: bytes, n: int, frame_times: FrameTimes | None) -> np.ndarray:
    """The arrivals ``pack_refs`` was given, from the frames' host times."""
    transform, comp = codec.rpartition("-")[0], codec.rpartition("-")[2]
    if transform != REFS or comp not in COMPRESSORS:
        raise ValueError(f"unknown chunk codec {codec!r}")
    if frame_times is None:
        raise ValueError("arrival times refer to the session's frames: give frame_times")
    buf = COMPRESSORS[comp][1](blob)
    refs = _undelta(buf[:8 * n], np.dtype("<i8"), (n,))
    own = np.frombuffer(buf[8 * n:9 * n], np.uint8).astype(bool)
    arrival = np.empty(n)
    arrival[own] = np.frombuffer(buf[9 * n:], "<f8")
    linked = refs[~own]
    if len(linked):
        lo = int(linked.min())
        arrival[~own] = frame_times(lo, int(linked.max()) + 1)[linked - lo]
    return arrival
