"""Exact, compact encodings of numpy columns for the session store, chosen by name from a registry.

Every codec is lossless: ``decode(encode(a))`` is bit-identical to ``a``. A codec is an exact
transform then a compressor (``sensing.store.packing``): integers (mat sensels, sequence numbers)
delta-coded along time, zigzag-mapped and byte-shuffled; float64 columns that are whole numbers
of a unit (device ticks, host microseconds, counts sent as text) as integer deltas of that unit,
other floats byte-shuffled; then zstd where installed (the `fast` extra), else zlib. A chunk or
raw row names the codec of each of its columns (``codecs``); rows written before that (format 1,
``COLUMNS`` and ``RAW_COLUMNS``) or without zstd read back alike.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge.frames import FrameBlock
from sensing.store import packing
from sensing.store.packing import UNITS, FrameTimes, little

Row = Mapping[str, Any] | sqlite3.Row
Frames = tuple[np.ndarray, np.ndarray]  # (index in the session, host_time) of stored frames


def candidates(dtype: np.dtype[Any]) -> tuple[str, ...]:
    """The transforms that may suit a dtype, best first (the last one always fits)."""
    if dtype.kind in "iu":
        return ("delta-zigzag-shuffle",)
    if dtype.kind == "f" and dtype.itemsize == 8:
        return (*UNITS, "shuffle")
    if dtype.kind == "f" and dtype.itemsize > 1:
        return ("shuffle",)
    return ("",)


def codec_for(dtype: np.dtype[Any]) -> str:
    """The codec that suits a dtype when every value fits it (see ``encode``)."""
    return packing.name(candidates(dtype)[0], packing.compressor())


def encode(a: np.ndarray, codec: str | None = None, gather: bool = False) -> tuple[str, bytes]:
    """``(codec name, blob)`` for array ``a`` (time along axis 0): the first of the dtype's
    candidates that holds ``a`` exactly, or ``codec`` (ValueError if it cannot). ``gather``:
    compress harder (a closed session's chunks, written once)."""
    a = little(np.asarray(a))
    if codec is not None:
        transform, comp = packing.split(codec)
        blob = packing.pack(a, transform, comp, gather)
        if blob is None:
            raise ValueError(f"codec {codec!r} cannot hold these values exactly")
        return codec, blob
    comp = packing.compressor()
    for transform in candidates(a.dtype):
        blob = packing.pack(a, transform, comp, gather)
        if blob is not None:
            return packing.name(transform, comp), blob
    raise AssertionError("the last candidate fits every array")


def decode(codec: str, blob: bytes, dtype: str | np.dtype[Any],
           shape: tuple[int, ...]) -> np.ndarray:
    """The array that ``encode`` was given, bit for bit."""
    return packing.unpack(codec, blob, np.dtype(dtype), tuple(shape))


# Per-frame columns of a chunk row: (codec of format 1, stored dtype).
COLUMNS: dict[str, tuple[str, str]] = {
    "host_time": ("shuffle-zlib", "<f8"),
    "device_time": ("shuffle-zlib", "<f8"),
    "seq": ("delta-zigzag-shuffle-zlib", "<i8"),
    "flags": ("zlib", "|u1"),
}
# Columns of a raw row: (codec of format 1, stored dtype).
RAW_COLUMNS: dict[str, tuple[str, str]] = {
    "data": ("zlib", "|u1"),
    "arrival": ("shuffle-zlib", "<f8"),
    "offsets": ("delta-zigzag-shuffle-zlib", "<i8"),
}


def column_codecs(row: Row, columns: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The codec of each column of ``row``: as it names them, or format 1's."""
    named = row["codecs"] if "codecs" in row.keys() else ""  # noqa: SIM118 (sqlite3.Row)
    found = json.loads(named) if named else {}
    return {col: found.get(col, old) for col, (old, _) in columns.items()}


def _named(codecs: dict[str, str]) -> str:
    return json.dumps(codecs, separators=(",", ":"))


def encode_chunk(block: FrameBlock, gather: bool = False) -> dict[str, Any]:
    """The columns of one ``chunks`` row (all but session_id, first_index and times)."""
    values = little(block.values)
    codec, blob = encode(values, gather=gather)
    row: dict[str, Any] = {
        "count": len(block), "dtype": values.dtype.str,
        "shape_json": json.dumps(list(block.frame_shape)), "codec": codec, "vals": blob,
    }
    codecs = {}
    for name, (_, dtype) in COLUMNS.items():
        codecs[name], row[name] = encode(np.asarray(getattr(block, name), dtype=dtype),
                                         gather=gather)
    row["codecs"] = _named(codecs)
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
    codecs = column_codecs(row, COLUMNS)
    cols = {name: decode(codecs[name], row[name], dtype, (n,))
            for name, (_, dtype) in COLUMNS.items()}
    if not values:
        return FrameBlock(np.empty((n, 0), np.dtype(row["dtype"])), **cols)
    shape = (n, *json.loads(row["shape_json"]))
    return FrameBlock(decode(row["codec"], row["vals"], row["dtype"], shape), **cols)


def encode_raw_reads(data: bytes, starts: np.ndarray, arrival: np.ndarray,
                     gather: bool = False, frames: Frames | None = None,
                     comp: str | None = None, packed: bytes | None = None) -> dict[str, Any]:
    """The columns of one ``raw`` row: the reads' bytes joined (read ``i`` starts at
    ``starts[i]`` of ``data``), compressed (with ``comp``, else the store's compressor; or
    ``packed``, ``data`` compressed so already); each read's arrival time and start offset.

    ``frames``: ``(index, host_time)`` of the session's stored frames around these reads: an
    arrival that is a frame's host time is kept as a reference to it (``packing.pack_refs``)."""
    codecs: dict[str, str] = {}
    row: dict[str, Any] = {"reads": len(starts), "nbytes": len(data)}
    codecs["data"] = comp or packing.compressor()  # the bytes as they came: no transform
    row["data"] = (packed if packed is not None
                   else packing.pack_bytes(data, codecs["data"], gather))
    arrival = np.asarray(arrival, np.float64)
    codecs["arrival"], row["arrival"] = encode(arrival, gather=gather)
    refs = _refs(arrival, frames) if frames is not None else None
    if refs is not None and frames is not None:
        name = packing.name(packing.REFS, packing.compressor())
        blob = packing.pack_refs(arrival, refs, packing.compressor(), gather)
        first = int(frames[0][0])
        back = packing.unpack_refs(name, blob, len(arrival),
                                   lambda lo, hi: frames[1][lo - first:hi - first])
        if np.array_equal(back.view(np.uint64), arrival.view(np.uint64)):
            codecs["arrival"], row["arrival"] = name, blob
    codecs["offsets"], row["offsets"] = encode(np.asarray(starts, np.int64), gather=gather)
    row["codecs"] = _named(codecs)
    return row


@dataclass
class RawReads:
    """One ``raw`` row of consecutive reads (an import's block), encoded where it was read, so
    compressing the bytes does not wait for the writer thread."""

    row: dict[str, Any]
    nbytes: int
    first: float  # arrival of the first read, and of the last
    last: float


def raw_reads(data: bytes, starts: np.ndarray, arrival: np.ndarray,
              comp: str | None = None, packed: bytes | None = None) -> RawReads:
    """``encode_raw_reads`` kept with what the writer needs to know of it."""
    return RawReads(encode_raw_reads(data, starts, arrival, comp=comp, packed=packed),
                    len(data), float(arrival[0]), float(arrival[-1]))


@dataclass
class EncodedFrames:
    """The ``chunks`` rows of consecutive frames (an import's), encoded where they were decoded,
    so encoding does not wait for the writer thread; ``block``: the frames themselves (whose
    length, shape, values and times it answers for, as a FrameBlock would)."""

    rows: list[dict[str, Any]]
    block: FrameBlock

    def __len__(self) -> int:
        return len(self.block)

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return self.block.frame_shape

    @property
    def values(self) -> np.ndarray:
        return self.block.values

    @property
    def host_time(self) -> np.ndarray:
        return self.block.host_time


def encoded_frames(block: FrameBlock, chunk_seconds: float, t0_host: float) -> EncodedFrames:
    """``encode_frames`` of one block, kept with the block."""
    return EncodedFrames(encode_frames([block], chunk_seconds, t0_host), block)


def chunk_rows(frames: list[FrameBlock | EncodedFrames], chunk_seconds: float,
               t0_host: float) -> Iterator[dict[str, Any]]:
    """The chunk rows of ``frames`` in order: those encoded already as they are, runs of blocks
    by ``encode_frames``."""
    run: list[FrameBlock] = []
    for item in [*frames, None]:
        if isinstance(item, FrameBlock):
            run.append(item)
            continue
        if run:
            yield from encode_frames(run, chunk_seconds, t0_host)
            run = []
        if item is not None:
            yield from item.rows


def joined(reads: list[tuple[bytes, float]]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Reads given one by one, as ``raw_reads`` takes them: joined, starts, arrivals."""
    lengths = np.fromiter((len(d) for d, _ in reads), np.int64, len(reads))
    starts = np.zeros(len(reads), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return (b"".join(d for d, _ in reads), starts,
            np.fromiter((t for _, t in reads), np.float64, len(reads)))


def raw_len(read: tuple[bytes, float] | RawReads) -> int:
    return read.nbytes if isinstance(read, RawReads) else len(read[0])


def _refs(arrival: np.ndarray, frames: Frames) -> np.ndarray | None:
    """For each arrival, the index of a frame whose host time it is, bit for bit (-1: none);
    None unless most arrivals are one (or the frames are not one run)."""
    index, host = frames
    if not len(index) or int(index[-1] - index[0]) + 1 != len(index):
        return None
    order = np.argsort(host, kind="stable")
    ordered = host[order]
    pos = np.searchsorted(ordered, arrival, side="right") - 1
    at = np.maximum(pos, 0)
    ok = (pos >= 0) & (ordered.view(np.uint64)[at] == arrival.view(np.uint64))
    return np.where(ok, index[order[at]], -1) if ok.sum() * 2 >= len(arrival) else None


def decode_raw_reads(row: Row, frame_times: FrameTimes | None = None
                     ) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A ``raw`` row's reads joined: ``(data, starts, arrival)``, as ``encode_raw_reads`` took.
    ``frame_times``: the session's frames' host times, for a row whose arrivals refer to them
    (``sensing.store.framerefs.frame_times``)."""
    n, nbytes = int(row["reads"]), int(row["nbytes"])
    codecs = column_codecs(row, RAW_COLUMNS)
    data = packing.unpack_bytes(codecs["data"], row["data"])
    if len(data) != nbytes:
        raise ValueError(f"raw row holds {len(data)} bytes, not {nbytes}")
    if codecs["arrival"].startswith(packing.REFS + "-"):
        arrival = packing.unpack_refs(codecs["arrival"], row["arrival"], n, frame_times)
    else:
        arrival = decode(codecs["arrival"], row["arrival"], "<f8", (n,))
    starts = decode(codecs["offsets"], row["offsets"], "<i8", (n,))
    return data, starts, arrival


def decode_raw(row: Row, frame_times: FrameTimes | None = None) -> list[tuple[float, bytes]]:
    """A ``raw`` row back as its reads: ``(host_time, bytes)`` each."""
    data, starts, arrival = decode_raw_reads(row, frame_times)
    ends = [*starts[1:].tolist(), len(data)]
    return [(t, data[a:b]) for t, a, b in zip(arrival.tolist(), starts.tolist(), ends,
                                               strict=True)]
