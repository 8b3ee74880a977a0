"""Exact, compact encodings of numpy columns for the session store, chosen by name from a registry.

Every codec is lossless: ``decode(encode(a))`` is bit-identical to ``a``. Integer frames (mat
sensels, sequence numbers) are delta-coded along time, zigzag-mapped so small steps either way
become small numbers, byte-shuffled so the high bytes sit together, then zlib'd at a low level.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from firmware_bridge.frames import FrameBlock

ZLIB_LEVEL = 1  # level 1 is within ~1 % of level 3 on mats, at half the time

Row = Mapping[str, Any] | sqlite3.Row
Encoder = Callable[[np.ndarray], bytes]
Decoder = Callable[[bytes, np.dtype[Any], tuple[int, ...]], np.ndarray]


def _little(a: np.ndarray) -> np.ndarray:
    """C-contiguous, little-endian, so the stored bytes mean the same on every machine."""
    dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
    return np.ascontiguousarray(a, dtype=dt)


def _shuffle(a: np.ndarray) -> bytes:
    """Byte planes: all first bytes, then all second bytes, ..."""
    return a.view(np.uint8).reshape(-1, a.dtype.itemsize).T.tobytes()


def _unshuffle(buf: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    planes = np.frombuffer(buf, np.uint8).reshape(dtype.itemsize, -1)
    return np.ascontiguousarray(planes.T).view(dtype).reshape(shape)


def _enc_zlib(a: np.ndarray) -> bytes:
    return zlib.compress(_little(a).tobytes(), ZLIB_LEVEL)


def _dec_zlib(blob: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype).reshape(shape).copy()


def _enc_shuffle(a: np.ndarray) -> bytes:
    return zlib.compress(_shuffle(_little(a)), ZLIB_LEVEL)


def _dec_shuffle(blob: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    return _unshuffle(zlib.decompress(blob), dtype, shape)


def _int_types(dtype: np.dtype[Any]) -> tuple[np.dtype[Any], np.dtype[Any], int]:
    bits = dtype.itemsize * 8
    return np.dtype(f"<u{dtype.itemsize}"), np.dtype(f"<i{dtype.itemsize}"), bits


def _enc_delta(a: np.ndarray) -> bytes:
    a = _little(a)
    utype, itype, bits = _int_types(a.dtype)
    u = a.view(utype)
    # Differences wrap modulo 2**bits, so the cumulative sum on decode restores every bit.
    d = np.empty_like(u)
    if len(u):
        d[0] = u[0]
        np.subtract(u[1:], u[:-1], out=d[1:])
    s = d.view(itype)
    z = (np.left_shift(s, 1) ^ np.right_shift(s, bits - 1)).view(utype)
    return zlib.compress(_shuffle(z), ZLIB_LEVEL)


def _dec_delta(blob: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    utype, _, _ = _int_types(dtype)
    z = _unshuffle(zlib.decompress(blob), utype, shape)
    one = utype.type(1)
    d = np.right_shift(z, one) ^ (np.zeros_like(z) - (z & one))
    return np.cumsum(d, axis=0, dtype=utype).view(dtype.newbyteorder("<")).astype(dtype)


CODECS: dict[str, tuple[Encoder, Decoder]] = {
    "zlib": (_enc_zlib, _dec_zlib),
    "shuffle-zlib": (_enc_shuffle, _dec_shuffle),
    "delta-zigzag-shuffle-zlib": (_enc_delta, _dec_delta),
}


def codec_for(dtype: np.dtype[Any]) -> str:
    """The codec that suits a dtype best: delta for integers, byte shuffle for floats."""
    if dtype.kind in "iu":
        return "delta-zigzag-shuffle-zlib"
    if dtype.kind in "iuf" and dtype.itemsize > 1:
        return "shuffle-zlib"
    return "zlib"


def encode(a: np.ndarray, codec: str | None = None) -> tuple[str, bytes]:
    """``(codec name, blob)`` for array ``a`` (time along axis 0)."""
    name = codec or codec_for(a.dtype)
    return name, CODECS[name][0](a)


def decode(codec: str, blob: bytes, dtype: str | np.dtype[Any],
           shape: tuple[int, ...]) -> np.ndarray:
    """The array that ``encode`` was given, bit for bit."""
    try:
        dec = CODECS[codec][1]
    except KeyError:
        raise ValueError(f"unknown chunk codec {codec!r}") from None
    return dec(blob, np.dtype(dtype), tuple(shape))


# Per-frame columns of a chunk row: (codec, stored dtype). Fixed by FORMAT_VERSION 1.
COLUMNS: dict[str, tuple[str, str]] = {
    "host_time": ("shuffle-zlib", "<f8"),
    "device_time": ("shuffle-zlib", "<f8"),
    "seq": ("delta-zigzag-shuffle-zlib", "<i8"),
    "flags": ("zlib", "|u1"),
}


def encode_chunk(block: FrameBlock) -> dict[str, Any]:
    """The columns of one ``chunks`` row (all but session_id, first_index and times)."""
    values = _little(block.values)
    codec, blob = encode(values)
    row: dict[str, Any] = {
        "count": len(block), "dtype": values.dtype.str,
        "shape_json": json.dumps(list(block.frame_shape)), "codec": codec, "vals": blob,
    }
    for name, (col_codec, dtype) in COLUMNS.items():
        row[name] = encode(np.asarray(getattr(block, name), dtype=dtype), col_codec)[1]
    return row


def decode_chunk(row: Row, values: bool = True) -> FrameBlock:
    """A ``chunks`` row back as the FrameBlock it was, bit for bit; without ``values``, its
    times, sequence numbers and flags only (``values`` then has shape ``(n, 0)``)."""
    n = int(row["count"])
    cols = {name: decode(codec, row[name], dtype, (n,)) for name, (codec, dtype) in COLUMNS.items()}
    if not values:
        return FrameBlock(np.empty((n, 0), np.dtype(row["dtype"])), **cols)
    shape = (n, *json.loads(row["shape_json"]))
    return FrameBlock(decode(row["codec"], row["vals"], row["dtype"], shape), **cols)


def encode_raw(reads: list[tuple[bytes, float]]) -> dict[str, Any]:
    """The columns of one ``raw`` row: joined bytes, arrival time and start offset of each read."""
    lengths = np.fromiter((len(d) for d, _ in reads), np.int64, len(reads))
    offsets = np.zeros(len(reads), np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    data = b"".join(d for d, _ in reads)
    arrival = np.fromiter((t for _, t in reads), np.float64, len(reads))
    return {
        "reads": len(reads), "nbytes": len(data), "data": zlib.compress(data, ZLIB_LEVEL),
        "arrival": encode(arrival, "shuffle-zlib")[1],
        "offsets": encode(offsets, "delta-zigzag-shuffle-zlib")[1],
    }


def decode_raw(row: Row) -> list[tuple[float, bytes]]:
    """A ``raw`` row back as its reads: ``(host_time, bytes)`` each."""
    n = int(row["reads"])
    data = zlib.decompress(row["data"])
    arrival = decode("shuffle-zlib", row["arrival"], "<f8", (n,)).tolist()
    starts = decode("delta-zigzag-shuffle-zlib", row["offsets"], "<i8", (n,)).tolist()
    ends = [*starts[1:], len(data)]
    return [(t, data[a:b]) for t, a, b in zip(arrival, starts, ends, strict=True)]
