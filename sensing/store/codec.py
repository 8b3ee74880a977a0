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
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from firmware_bridge.frames import FrameBlock

ZLIB_LEVEL = 1  # level 1 is within ~1 % of level 3 on mats, at half the time

_deflater: ModuleType
try:  # ISA-L writes zlib streams 3-4x faster than zlib, as small at its level 1 (bench/importer.py)
    from isal import isal_zlib as _deflater
except ImportError:  # zlib's own: the same format, read back alike
    _deflater = zlib


def deflate(data: bytes) -> bytes:
    """``data`` as a zlib stream (``zlib.decompress`` reads it back), the fastest way at hand."""
    return _deflater.compress(data, ZLIB_LEVEL)

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
    return deflate(_little(a).tobytes())


def _dec_zlib(blob: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype).reshape(shape).copy()


def _enc_shuffle(a: np.ndarray) -> bytes:
    return deflate(_shuffle(_little(a)))


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
    return deflate(_shuffle(z))


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


MAX_CHUNK_BYTES = 4 << 20  # of raw frame values per stored chunk


def cut_chunks(blocks: list[FrameBlock], chunk_seconds: float) -> list[FrameBlock]:
    """Runs of one dtype, cut every ``chunk_seconds`` of host time and at MAX_CHUNK_BYTES."""
    runs: list[list[FrameBlock]] = []
    for b in blocks:
        if runs and runs[-1][-1].values.dtype == b.values.dtype:
            runs[-1].append(b)
        else:
            runs.append([b])
    out = []
    for run in runs:
        block = FrameBlock.concat(run)
        t = block.host_time
        bins = np.floor((t - t[0]) / chunk_seconds)
        most = max(1, MAX_CHUNK_BYTES // max(1, block.values[0].nbytes))
        cuts = set(np.flatnonzero(np.diff(bins)).tolist())
        cuts.update(range(most - 1, len(block) - 1, most))
        start = 0
        for cut in sorted(cuts):
            out.append(block.take(slice(start, cut + 1)))
            start = cut + 1
        out.append(block.take(slice(start, None)))
    return out


def encode_frames(blocks: list[FrameBlock], chunk_seconds: float,
                  t0_host: float) -> list[dict[str, Any]]:
    """``blocks`` (in order) as the ``chunks`` rows of their chunks, but ``session_id`` and
    ``first_index``; times from ``t0_host``."""
    rows = []
    for chunk in cut_chunks(blocks, chunk_seconds) if blocks else []:
        row = encode_chunk(chunk)
        t = chunk.host_time - t0_host
        row.update(t_first=float(t.min()), t_last=float(t.max()))
        rows.append(row)
    return rows


def decode_chunk(row: Row, values: bool = True) -> FrameBlock:
    """A ``chunks`` row back as the FrameBlock it was, bit for bit; without ``values``, its
    times, sequence numbers and flags only (``values`` then has shape ``(n, 0)``)."""
    n = int(row["count"])
    cols = {name: decode(codec, row[name], dtype, (n,)) for name, (codec, dtype) in COLUMNS.items()}
    if not values:
        return FrameBlock(np.empty((n, 0), np.dtype(row["dtype"])), **cols)
    shape = (n, *json.loads(row["shape_json"]))
    return FrameBlock(decode(row["codec"], row["vals"], row["dtype"], shape), **cols)


def encode_raw_reads(data: bytes, starts: np.ndarray, arrival: np.ndarray) -> dict[str, Any]:
    """The columns of one ``raw`` row: the reads' bytes joined (read ``i`` starts at
    ``starts[i]`` of ``data``), zlib'd; each read's arrival time and start offset."""
    return {
        "reads": len(starts), "nbytes": len(data), "data": deflate(data),
        "arrival": encode(np.asarray(arrival, np.float64), "shuffle-zlib")[1],
        "offsets": encode(np.asarray(starts, np.int64), "delta-zigzag-shuffle-zlib")[1],
    }


@dataclass
class RawReads:
    """One ``raw`` row of consecutive reads (an import's block), encoded where it was read, so
    compressing the bytes does not wait for the writer thread."""

    row: dict[str, Any]
    nbytes: int
    first: float  # arrival of the first read, and of the last
    last: float


def raw_reads(data: bytes, starts: np.ndarray, arrival: np.ndarray) -> RawReads:
    """``encode_raw_reads`` kept with what the writer needs to know of it."""
    return RawReads(encode_raw_reads(data, starts, arrival), len(data), float(arrival[0]),
                    float(arrival[-1]))


def joined(reads: list[tuple[bytes, float]]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Reads given one by one, as ``raw_reads`` takes them: joined, starts, arrivals."""
    lengths = np.fromiter((len(d) for d, _ in reads), np.int64, len(reads))
    starts = np.zeros(len(reads), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return (b"".join(d for d, _ in reads), starts,
            np.fromiter((t for _, t in reads), np.float64, len(reads)))


def raw_len(read: tuple[bytes, float] | RawReads) -> int:
    return read.nbytes if isinstance(read, RawReads) else len(read[0])


def decode_raw_reads(row: Row) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A ``raw`` row's reads joined: ``(data, starts, arrival)``, as ``encode_raw_reads`` took."""
    n = int(row["reads"])
    data = zlib.decompress(row["data"])
    arrival = decode("shuffle-zlib", row["arrival"], "<f8", (n,))
    starts = decode("delta-zigzag-shuffle-zlib", row["offsets"], "<i8", (n,))
    return data, starts, arrival


def decode_raw(row: Row) -> list[tuple[float, bytes]]:
    """A ``raw`` row back as its reads: ``(host_time, bytes)`` each."""
    data, starts, arrival = decode_raw_reads(row)
    ends = [*starts[1:].tolist(), len(data)]
    return [(t, data[a:b]) for t, a, b in zip(arrival.tolist(), starts.tolist(), ends,
                                               strict=True)]
