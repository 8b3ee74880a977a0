"""Decode throughput of the ``binary`` protocol, each beside baselines on the same bytes.

Run: .venv/bin/python bench/binary.py [--mb 8] [--repeats 3]

Streams (firmware_bridge/protocols/binary.py), fed in 64 KiB reads as a bridge hands them over:

- ``loadcells sync+crc16``: the records of profile ``sim-loadcells-binary`` (18 bytes: sync,
  seq, time, two int32, CRC-16/MODBUS), found by sync marker, one CRC call per record;
- ``loadcells crc32, no sync``: the same fields without sync bytes and with a CRC-32, cut by
  checking consecutive records in bulk;
- ``mat 48x48 sync``: a 48x48 ``<u2`` mat after two sync bytes, no checksum.

Baselines, on the very same bytes: ``numpy.frombuffer`` of the whole clean stream with the
record's structured dtype (the floor: no search, no check), and a Python loop of
``struct.unpack_from`` per record with the same CRC call (what a hand-written reader does).
A last row times the search after a loss: the no-sync CRC-32 stream with one byte lost every
1,000 records. Every figure is the best of ``--repeats`` runs; results are checked first.
"""

from __future__ import annotations

import argparse
import struct
import time
from collections.abc import Callable

import numpy as np
from tables import aligned  # bench/tables.py, beside this file

from firmware_bridge.profiles import Profile, load_profile, parse_profile
from firmware_bridge.protocols import make_decoder
from firmware_bridge.protocols._checksums import CHECKSUMS
from firmware_bridge.protocols._record import Layout
from firmware_bridge.protocols.binary import BinaryRecordDecoder, encode_records

CRC32_NOSYNC = """name = "bench-crc32"\nprotocol = "binary"\n[options]\nchecksum = "crc32"
time_unit = "us"\nfields = [{ use = "seq", dtype = "<u2" }, { use = "time", dtype = "<u4" },
{ use = "values", dtype = "<i4" }, { use = "checksum", dtype = "<u4" }]
[[channels]]\nname = "a"\n[[channels]]\nname = "b"\n"""
MAT_SYNC = """name = "bench-mat"\nprotocol = "binary"\n[options]\nsync = "A5 5A"
fields = [{ use = "values", dtype = "<u2" }]\n[matrix]\nrows = 48\ncols = 48\nraw_max = 65535\n"""
READ = 64 << 10


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def stream(dec: BinaryRecordDecoder, mb: float) -> tuple[bytes, np.ndarray]:
    lay = dec.layout
    n = int(mb * 1e6 / lay.size)
    rng = np.random.default_rng(1)
    values = rng.integers(0, 4096, (n, lay.count)).astype(lay.values.newbyteorder("="))
    return encode_records(lay, values, np.arange(n), np.arange(n) * 12_500), values


Make = Callable[[], BinaryRecordDecoder]


def binary_decoder(profile: Profile) -> BinaryRecordDecoder:
    dec = make_decoder(profile)
    assert isinstance(dec, BinaryRecordDecoder)
    return dec


def sotlog(dec_of: Make, data: bytes) -> int:
    dec = dec_of()
    frames = 0
    for i in range(0, len(data), READ):
        out = dec.feed(data[i:i + READ], 0.0)
        frames += 0 if out.frames is None else len(out.frames)
    out = dec.flush(0.0)
    return frames + (0 if out.frames is None else len(out.frames))


def by_hand(lay: Layout, data: bytes) -> int:
    """struct per record, the same CRC call: values kept as Python tuples."""
    codes = {1: "B", 2: "H", 4: "I"}
    fmt = "<"
    for name in lay.record.names or ():
        dt = lay.record[name]
        if name == "values":
            fmt += f"{lay.count}{lay.values.char}"
        elif name in ("seq", "time", "checksum"):
            fmt += codes[dt.itemsize]
        else:
            fmt += f"{dt.itemsize}x"
    rec = struct.Struct(fmt)
    start, end = lay.covered
    check = CHECKSUMS[lay.checksum].of if lay.checksum else None
    rows = []
    for off in range(0, len(data) - lay.size + 1, lay.size):
        fields = rec.unpack_from(data, off)
        if check is None or check(data[off + start:off + end]) == fields[-1]:
            rows.append(fields)
    return len(rows)


def measure(name: str, make: Make, mb: float, repeats: int) -> list[str]:
    dec = make()
    lay = dec.layout
    data, values = stream(dec, mb)
    assert sotlog(make, data) == len(values) == by_hand(lay, data)
    size = len(data) / 1e6
    ours = best_of(lambda: sotlog(make, data), repeats)
    floor = best_of(lambda: np.frombuffer(data, lay.record)["values"].copy(), repeats)
    hand = best_of(lambda: by_hand(lay, data), 1)
    return [name, f"{lay.size} B", f"{size / ours:,.0f}", f"{size / floor:,.0f}",
            f"{size / hand:,.1f}", f"{hand / ours:,.0f}x"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cases: dict[str, Make] = {
        "loadcells sync+crc16": lambda: binary_decoder(load_profile("sim-loadcells-binary")),
        "loadcells crc32, no sync": lambda: binary_decoder(parse_profile(CRC32_NOSYNC)),
        "mat 48x48 sync": lambda: binary_decoder(parse_profile(MAT_SYNC)),
    }
    head = ["stream", "record", "sotlog MB/s", "frombuffer MB/s", "struct loop MB/s",
            "sotlog / struct"]
    rows = [measure(name, make, args.mb, args.repeats) for name, make in cases.items()]
    for line in aligned(head, rows):
        print(line)
    make = cases["loadcells crc32, no sync"]
    data, values = stream(make(), args.mb)
    size = make().layout.size
    lossy = b"".join(data[k:k + 1000 * size - 1] for k in range(0, len(data), 1000 * size))
    got = sotlog(make, lossy)
    took = best_of(lambda: sotlog(make, lossy), args.repeats)
    clean = best_of(lambda: sotlog(make, data), args.repeats)
    noise = np.random.default_rng(2).integers(0, 256, len(data), np.uint8).tobytes()
    synced = cases["loadcells sync+crc16"]
    assert sotlog(synced, noise) == 0
    on_noise = best_of(lambda: sotlog(synced, noise), args.repeats)
    print(f"\nrandom bytes read with sync+crc16: {len(noise) / 1e6 / on_noise:,.0f} MB/s, 0 records"
          f" (markers A5 5A by chance: {noise.count(bytes.fromhex('A55A')):,})")
    print(f"no sync, crc32, a byte lost every 1,000 records: {len(lossy) / 1e6 / took:,.0f} "
          f"MB/s ({got:,} of {len(values):,} records; the clean stream "
          f"{len(data) / 1e6 / clean:,.0f} MB/s in the same run)")


if __name__ == "__main__":
    main()
