"""Decode throughput of the wire protocols, each beside a baseline and a target, and the speed
of each reader of clean text runs on the very runs the decoder gets.

Run: .venv/bin/python bench/decode.py [--mb 8] [--repeats 5]

- ``lines`` on a generated 4-cell capture (``millis,a,b,c,d`` at 80 Hz, HX711 raw counts,
  CRLF), on the real HX711 recordings repeated (``millis,value.1``, LF), and on the 4-cell
  capture as sketches that print ``", "`` between values send it (numbers with spaces: the
  general readers). sotlog is fed the bytes in 64 KiB and in 4 KiB reads, as a bridge would
  hand them over, and once one line per read (the live case). Baselines, on the very same
  bytes: a pyserial ``readline()`` + ``split`` + ``float`` loop (pyserial's own ``readline``,
  over a serial object backed by the bytes) and ``pandas.read_csv`` (whole buffer, C engine).
  Targets: >= 20x the readline loop, within 2x of pandas.
- The readers of clean runs (firmware_bridge/protocols/_numbers.py), each timed alone on the
  runs of 4 KiB and of 64 KiB reads of the first two captures, and on the 1 MiB blocks
  ``sotlog import`` decodes (``sensing.store.importer.BLOCK_BYTES``): the C reader (where
  setup.py could build it), numpy's integer reader,
  the word-at-a-time reader of ``_decimals``, numpy's ``loadtxt`` float reader, pyarrow's CSV
  reader (on its own threads, and on one); the one ``parse_block`` picks for that run length is
  marked.
- ``matrix_lines`` on Kitronyx-shaped 48x48 text lines, against ``pandas.read_csv``.
- ``blockframe`` on 48x48 uint16 frames (target >= 50 MB/s).

Every figure is the best of ``--repeats`` runs, and every result is checked against the
baselines' numbers before anything is printed. On a busy machine the ratios move; run it twice.
``--live S`` adds the decoder's CPU while reading the simulated 4-cell 80 Hz device for S s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import serial
from cpu import LOADCELLS, read_loop_cpu_pct, record_cpu_pct  # bench/cpu.py, beside this file

from firmware_bridge import native
from firmware_bridge.frames import FrameBlock
from firmware_bridge.ports import open_port
from firmware_bridge.profiles import load_profile, parse_profile
from firmware_bridge.protocols import _numbers, make_decoder
from firmware_bridge.protocols._decimals import read_plain
from firmware_bridge.protocols._text import LineSplitter
from firmware_bridge.protocols.blockframe import encode_frame
from sensing.store.importer import BLOCK_BYTES

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "fixtures" / "real"
LINES_4CH = """name = "bench-4ch"\nprotocol = "lines"\n[options]\ntime_column = 0
[[channels]]\nname = "a"\n[[channels]]\nname = "b"\n[[channels]]\nname = "c"
[[channels]]\nname = "d"\n"""
LINES_1CH = """name = "bench-1ch"\nprotocol = "lines"\n[options]\ntime_column = 0
[[channels]]\nname = "load"\ncolumn = 1\n"""
MAT_TEXT = """name = "bench-mat"\nprotocol = "matrix_lines"\n[options]\nheader = "yes"
time_column = "Measurement Time (sec)"\ntime_unit = "s"\n[matrix]\nrows = 48\ncols = 48\n"""
MAT_BIN = """name = "bench-bf"\nprotocol = "blockframe"\n[matrix]\nrows = 48\ncols = 48
raw_min = 0\nraw_max = 65535\ndtype = "uint16"\n"""


# -- data ----------------------------------------------------------------------------------------


def four_cells(mb: float) -> bytes:
    """HX711-like raw counts from four cells at 80 Hz, as ``Serial.println`` sends them."""
    n = int(mb * 1e6 / 40)
    rng = np.random.default_rng(1)
    millis = 1000 + np.cumsum(rng.choice([12, 13], n))
    load = np.cumsum(rng.normal(0, 40, (n, 4)), axis=0) + [152000, 148000, -31000, 9000]
    counts = (load + rng.normal(0, 120, (n, 4))).astype(np.int64)
    table = np.column_stack([millis, counts])
    body = "\r\n".join(",".join(map(str, row)) for row in table.tolist())
    return b"millis,a,b,c,d\r\n" + body.encode("ascii") + b"\r\n"


def spaced(data: bytes) -> bytes:
    """The same lines as a sketch printing ``Serial.print(", ")`` between values sends them."""
    return data.replace(b",", b", ")


def hx711_repeated(mb: float) -> bytes:
    """The two real HX711 recordings' data lines, over and over, after one header."""
    lines = b"".join((REAL / f).read_bytes().split(b"\n", 1)[1]
                     for f in ("hx711_arduino_9600_log22.csv", "hx711_arduino_9600_log24.csv"))
    return b"Times,Measures\n" + lines * max(1, int(mb * 1e6 / len(lines)))


def kitronyx_text(mb: float) -> bytes:
    """48x48 frames like the Kitronyx log: mostly zeros, a loaded patch of 8-bit values."""
    rng = np.random.default_rng(2)
    header = "Measurement Time (sec)," + ",".join(f"R{r}C{c}" for r in range(48)
                                                  for c in range(48)) + ",\n"
    lines, size, i = [header], 0, 0
    while size < mb * 1e6:
        frame = np.zeros((48, 48), np.int64)
        frame[10:38, 12:36] = rng.integers(0, 256, (28, 24))
        line = f"{i + 1:02d}.01, " + ",".join(map(str, frame.ravel().tolist())) + "\n"
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines).encode("ascii")


# -- methods -------------------------------------------------------------------------------------


def sotlog(profile_text: str, chunk: int) -> Callable[[bytes], FrameBlock]:
    def run(data: bytes) -> FrameBlock:
        dec = make_decoder(parse_profile(profile_text))
        blocks = []
        for at in range(0, len(data), chunk):
            got = dec.feed(data[at:at + chunk], 0.0)
            if got.frames is not None:
                blocks.append(got.frames)
        got = dec.flush(0.0)
        if got.frames is not None:
            blocks.append(got.frames)
        return FrameBlock.concat(blocks)
    return run


class BytesSerial(serial.SerialBase):
    """A pyserial port whose wire is a bytes object: ``readline`` is pyserial's own."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self.is_open = True

    def read(self, size: int = 1) -> bytes:
        return self._data.read(size)

    @property
    def in_waiting(self) -> int:
        return 0


def readline_loop(data: bytes) -> np.ndarray:
    """What a hand-written logger does: readline, split, float, skip what does not parse."""
    port, rows = BytesSerial(data), []
    while True:
        line = port.readline()
        if not line:
            break
        try:
            rows.append([float(f) for f in line.split(b",")])
        except ValueError:
            continue
    return np.array(rows)


@contextlib.contextmanager
def without_pyarrow() -> Iterator[None]:
    """sotlog as it runs where pyarrow is not installed."""
    saved = _numbers._pyarrow
    _numbers._pyarrow = lambda: None  # type: ignore[assignment]
    try:
        yield
    finally:
        _numbers._pyarrow = saved


def pandas_csv(data: bytes) -> np.ndarray:
    import pandas as pd

    return pd.read_csv(io.BytesIO(data), header=0).to_numpy(np.float64)


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Row:
    case: str
    method: str
    nbytes: int
    frames: int
    seconds: float

    @property
    def mb_s(self) -> float:
        return self.nbytes / self.seconds / 1e6

    @property
    def lines_s(self) -> float:
        return self.frames / self.seconds


def best_of(fn: Callable[[bytes], object], data: bytes, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn(data)
        best = min(best, time.perf_counter() - t0)
    return best, result


REPEATS = 5


def measure(case: str, method: str, fn: Callable[[bytes], object], data: bytes,
            repeats: int = REPEATS) -> tuple[Row, object]:
    seconds, result = best_of(fn, data, repeats)
    n = len(result) if result is not None else 0  # type: ignore[arg-type]
    return Row(case, method, len(data), n, seconds), result


def show(rows: list[Row], notes: list[str]) -> None:
    print(f"{'case':<30} {'method':<38} {'MB':>6} {'frames':>9} {'s':>7} {'MB/s':>8} "
          f"{'lines/s':>11}")
    for r in rows:
        print(f"{r.case:<30} {r.method:<38} {r.nbytes / 1e6:6.1f} {r.frames:9d} "
              f"{r.seconds:7.3f} {r.mb_s:8.1f} {r.lines_s:11,.0f}")
    print()
    for note in notes:
        print(note)


def verdict(label: str, value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    return f"{label}: {value:.2f} (target {sign} {target:g}) {'met' if ok else 'NOT MET'}"


def one_line_per_read(profile_text: str, lines: int) -> Callable[[bytes], FrameBlock]:
    """sotlog fed the first ``lines`` lines one read each, as a slow live device delivers them."""
    def run(data: bytes) -> FrameBlock:
        reads = data.splitlines(keepends=True)[:lines]
        dec = make_decoder(parse_profile(profile_text))
        blocks = [got.frames for got in (dec.feed(r, 0.0) for r in reads)
                  if got.frames is not None]
        return FrameBlock.concat(blocks)
    return run


def bench_lines(case: str, data: bytes, profile: str, rows: list[Row], notes: list[str],
                repeats: int, arrow_too: bool = False) -> None:
    """sotlog in 64 KiB and 4 KiB reads, readline and pandas, all on ``data``; ``arrow_too``:
    64 KiB reads once more without pyarrow."""
    columns = parse_profile(profile).channels
    pd_row, table = measure(case, "pandas.read_csv (whole buffer)", pandas_csv, data, repeats)
    rl_row, loop = measure(case, "pyserial readline + split + float", readline_loop, data,
                           repeats)
    assert isinstance(table, np.ndarray) and isinstance(loop, np.ndarray)
    assert np.array_equal(loop, table), "the two baselines disagree"
    rows += [pd_row, rl_row]
    for chunk in (65536, 4096):
        ours, block = measure(case, f"sotlog lines ({chunk // 1024} KiB reads)",
                              sotlog(profile, chunk), data, repeats)
        assert isinstance(block, FrameBlock) and len(block) == len(table)
        assert np.array_equal(block.values, table[:, 1:1 + block.values.shape[1]])
        assert np.array_equal(block.device_time, table[:, 0] * 1e-3)
        rows.append(ours)
        what = f"{case}, {chunk // 1024} KiB reads"
        notes.append(verdict(f"{what}: sotlog speed / readline loop speed (x)",
                             ours.mb_s / rl_row.mb_s, 20))
        notes.append(verdict(f"{what}: sotlog time / pandas time (x)",
                             ours.seconds / pd_row.seconds, 2, higher_is_better=False))
    if arrow_too and _numbers._pyarrow() is not None:
        with without_pyarrow():
            ours, block = measure(case, "sotlog lines (64 KiB reads, no pyarrow)",
                                  sotlog(profile, 65536), data, repeats)
        assert isinstance(block, FrameBlock) and np.array_equal(block.values,
                                                                table[:, 1:1 + len(columns)])
        rows.append(ours)
    live, block = measure(case, "sotlog lines (a line per read, 20k)",
                          one_line_per_read(profile, 20_000), data, repeats)
    assert isinstance(block, FrameBlock)
    live.nbytes = sum(len(r) for r in data.splitlines(keepends=True)[:20_000])
    rows.append(live)
    notes.append(f"{case}, a line per read: {1e6 / live.lines_s:.1f} us per line")


def clean_runs(data: bytes, chunk: int) -> list[bytes]:
    """The runs of whole lines the decoder reads when ``data`` arrives ``chunk`` bytes at a
    time (line ends made LF, as the decoder's line splitter makes them), header left out."""
    split, runs = LineSplitter(), []
    for at in range(0, len(data), chunk):
        body, _ = split.feed(data[at:at + chunk])
        if body:
            runs.append(body)
    runs[0] = runs[0].split(b"\n", 1)[1]
    return [r for r in runs if r]


def one_thread(body: bytes, nfields: int) -> np.ndarray | None:
    """pyarrow's CSV reader as ``_numbers`` runs it, but on the calling thread alone (as it
    would be beside an import's encoding threads on a busy machine)."""
    arrow = _numbers._pyarrow()
    assert arrow is not None
    pa, csv = arrow
    opts = _numbers._arrow_options(b",", nfields)
    table = csv.read_csv(pa.py_buffer(body), read_options=csv.ReadOptions(
        column_names=opts["read_options"].column_names, block_size=4 << 20, use_threads=False),
        parse_options=opts["parse_options"], convert_options=opts["convert_options"])
    return np.column_stack([c.to_numpy() for c in table.columns])


def bench_parsers(case: str, data: bytes, nfields: int, repeats: int, notes: list[str]) -> None:
    """Each reader of clean runs alone, on the runs of 4 KiB and 64 KiB reads of ``data`` and on
    the blocks an import decodes."""
    readers: dict[str, Callable[[bytes], Any]] = {}
    ctext = native.ctext
    if ctext is not None:  # built by setup.py where a C compiler was at hand
        readers["C reader (_ctext)"] = lambda b: np.frombuffer(
            ctext.read_decimals(b, 44, nfields)).reshape(-1, nfields)
    readers |= {
        "numpy integer reader": lambda b: _numbers._plain(b, b",", nfields),
        "word reader (_decimals)": lambda b: read_plain(b, b",", nfields),
        "numpy loadtxt (float)": lambda b: _numbers._loadtxt(b, b","),
    }
    if _numbers._pyarrow() is not None:
        readers["pyarrow.csv"] = lambda b: _numbers._arrow(b, b",", nfields)
        readers["pyarrow.csv, one thread"] = lambda b: one_thread(b, nfields)
    for chunk in (4096, 65536, BLOCK_BYTES):
        runs = clean_runs(data, chunk)
        want = np.concatenate([_numbers._loadtxt(r, b",") for r in runs])
        picked = ("C reader (_ctext)" if ctext is not None else "word reader (_decimals)"
                  if sum(map(len, runs)) / len(runs) >= _numbers.HAND_MIN_BYTES
                  else "numpy integer reader")
        figures = []
        for name, read in readers.items():
            seconds, got = float("inf"), []
            for _ in range(repeats):
                t0 = time.perf_counter()
                got = [read(r) for r in runs]
                seconds = min(seconds, time.perf_counter() - t0)
            assert np.array_equal(np.concatenate(got), want), f"{name} misread {case}"
            mark = " (picked)" if name == picked else ""
            figures.append(f"{name}{mark} {sum(map(len, runs)) / seconds / 1e6:.0f}")
        runs_of = ("the import's blocks" if chunk == BLOCK_BYTES else
                   f"runs of {chunk // 1024} KiB reads")
        notes.append(f"{case}, {runs_of}, MB/s: " + ", ".join(figures))


def bench_matrix(data: bytes, chunk: int, rows: list[Row], notes: list[str]) -> None:
    case = "Kitronyx-shaped 48x48 text"
    ours, block = measure(case, f"sotlog matrix_lines ({chunk // 1024} KiB)",
                          sotlog(MAT_TEXT, chunk), data)
    pd_row, table = measure(case, "pandas.read_csv", pandas_csv, data)
    assert isinstance(block, FrameBlock) and isinstance(table, np.ndarray)
    assert np.array_equal(block.values.reshape(len(block), -1), table[:, 1:2305])
    rows += [ours, pd_row]
    notes.append(verdict(f"{case}: matrix_lines time / pandas time (x)",
                         ours.seconds / pd_row.seconds, 2, higher_is_better=False))


def bench_blockframe(n: int, chunk: int, rows: list[Row], notes: list[str]) -> None:
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 4096, (n, 48, 48)).astype(np.uint16)
    data = b"".join(encode_frame(frames[i], i, i * 10_000) for i in range(n))
    case = "blockframe 48x48 uint16"
    ours, block = measure(case, f"sotlog blockframe ({chunk // 1024} KiB)",
                          sotlog(MAT_BIN, chunk), data)
    base, _ = measure(case, "numpy.frombuffer, no checks",
                      lambda d: np.frombuffer(d, np.uint8).copy(), data)
    base.frames = n
    assert isinstance(block, FrameBlock) and np.array_equal(block.values, frames)
    rows += [ours, base]
    notes.append(verdict(f"{case}: MB/s", ours.mb_s, 50))


def live_decoder_cpu(seconds: float) -> str:
    """CPU the ``lines`` decoder spends on the simulated 4-cell 80 Hz device, read as the
    bridge reads it (caches go cold between reads, unlike in the loops above)."""
    profile = load_profile("sim-loadcells-4")
    port = open_port("sim://loadcells?blocks=4&rate=80&protocol=lines&seed=1", profile.serial,
                     0.05)
    dec = make_decoder(profile)
    reads, spent, end = 0, 0.0, time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            data = port.read(max(1, port.in_waiting))
            if data:
                t0 = time.thread_time()
                dec.feed(data, time.monotonic())
                spent += time.thread_time() - t0
                reads += 1
    finally:
        port.close()
    return (f"live, sim-loadcells-4 (4 cells x 80 Hz), {seconds:g} s: {reads} reads, "
            f"{dec.counters.frames} frames; decoder CPU {100 * spent / seconds:.2f}% of a core, "
            f"{1e6 * spent / max(reads, 1):.0f} us per read")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=8.0, help="size of the generated capture, MB")
    ap.add_argument("--repeats", type=int, default=REPEATS, help="runs per figure (best kept)")
    ap.add_argument("--live", type=float, default=0.0,
                    help="also time the decoder on the simulated 80 Hz device for this many s")
    ap.add_argument("--record-seconds", type=float, default=15.0,
                    help="length of the `sotlog record` CPU run (0 to skip)")
    args = ap.parse_args()
    rows: list[Row] = []
    notes: list[str] = []
    cells, hx711 = four_cells(args.mb), hx711_repeated(args.mb / 2)
    bench_lines("4 cells, millis + raw counts", cells, LINES_4CH, rows, notes, args.repeats)
    bench_lines("real HX711 log, repeated", hx711, LINES_1CH, rows, notes, args.repeats)
    bench_lines('4 cells, ", " between values', spaced(four_cells(args.mb / 2)), LINES_4CH, rows,
                notes, args.repeats, arrow_too=True)
    bench_parsers("4 cells", cells, 5, args.repeats, notes)
    bench_parsers("real HX711 log", hx711, 2, args.repeats, notes)
    bench_matrix(kitronyx_text(args.mb / 2), 65536, rows, notes)
    bench_blockframe(int(args.mb * 1e6 / 4640), 65536, rows, notes)
    if args.live > 0:
        notes.append(live_decoder_cpu(args.live))
    show(rows, notes)
    if args.record_seconds > 0:
        # The second figure: the whole recorder, measured the way bench/cpu.py measures it.
        rec, _ = record_cpu_pct(*LOADCELLS, args.record_seconds)
        loop = read_loop_cpu_pct(LOADCELLS[0], args.record_seconds)
        print(f"\nsotlog record, 4 cells x 80 Hz, {args.record_seconds:g} s: {rec:.2f}% of one "
              f"core (target < 5%); baseline pyserial read loop on the same port: {loop:.2f}%")


if __name__ == "__main__":
    main()
