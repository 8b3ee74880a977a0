"""What pressure mats cost: decoding, recording CPU, measures, storage. Prints one table.

Run: /tmp/venv/bin/python bench/mat.py [--seconds 20]

Each figure is printed beside its target and a baseline measured in the same run:

* decode throughput of the matrix protocols, against the fastest mat wire rate (48x48 uint16 at
  100 frames/s, 460,800 B/s of values); target at least 100 times that;
* CPU of the real ``sotlog record`` on sim://mat?rows=48&cols=48&rate=100 (profile sim-mat-48) as
  a subprocess, against a plain pyserial read loop of the same stream; target under 25 % of a
  core;
* per-frame cost of the measures and of reading a stored mat session back;
* stored bytes per frame against the raw frame, and a 30-minute 48x48 50 frames/s session.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Profile, load_profile, parse_profile
from firmware_bridge.protocols import make_decoder
from firmware_bridge.protocols.m1616 import encode_m1616
from firmware_bridge.sim.mat import MatDevice
from firmware_bridge.sim.options import MatConfig, parse_sim_url
from sensing.mat import Region, block_channels, frame_measures, live_payload
from sensing.store import codec as store_codec
from sensing.store.sessions import Store

WIRE_RATE = 48 * 48 * 2 * 100  # B/s of values: 48x48 uint16 at 100 frames/s
URL = "sim://mat?rows=48&cols=48&rate=100&seed=1"
READ_CHUNK = 4096  # what a USB serial read typically returns
SETTLE_S = 3.0  # CPU is sampled after start-up (imports, port open)
MATRIX_LINES_TOML = """
name = "bench-48-text"
protocol = "matrix_lines"
nominal_rate_hz = 100
[options]
delimiter = ","
header = "no"
first_line = "keep"
[matrix]
rows = 48
cols = 48
raw_max = 4095
dtype = "uint16"
"""
M1616_TOML = load_profile("m1616").source


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def mat_device(url: str) -> MatDevice:
    config = parse_sim_url(url)[1]
    assert isinstance(config, MatConfig)
    return MatDevice(config)


def sim_frames(rows: int, cols: int, rate: float, seconds: float) -> tuple[np.ndarray, MatDevice]:
    device = mat_device(f"sim://mat?rows={rows}&cols={cols}&rate={rate:g}&seed=1")
    n = int(rate * seconds)
    return device.samples(int(rate * 5), int(rate * 5) + n)[1], device  # 5 s in: blocks loaded


def decode_figures() -> list[tuple[str, str, str, str]]:
    """Decode throughput per protocol, fed in READ_CHUNK pieces as the bridge gets them."""
    frames48, device = sim_frames(48, 48, 100, 4.0)
    blockframe = b"".join(device.render(500, 500 + len(frames48)))
    text_device = mat_device(URL + "&protocol=matrix_lines")
    text = b"".join(text_device.render(500, 500 + len(frames48)))
    frames16 = sim_frames(16, 16, 100, 4.0)[0]
    m1616 = b"".join(encode_m1616(f) for f in frames16)
    cases = [
        ("blockframe 48x48 uint16", load_profile("sim-mat-48"), blockframe, len(frames48)),
        ("matrix_lines 48x48 text", parse_profile(MATRIX_LINES_TOML, "bench"), text,
         len(frames48)),
        ("m1616 16x16 uint16", parse_profile(M1616_TOML, "bench"), m1616, len(frames16)),
    ]
    rows = []
    for name, profile, wire, n in cases:
        seconds = best_of(partial(_decode_all, profile, wire, n))
        rate = len(wire) / seconds
        fps = n / seconds
        rows.append((f"decode {name}",
                     f"{rate / 1e6:.1f} MB/s, {fps:,.0f} frames/s ({len(wire) / n:,.0f} B/frame)",
                     ">= 100 x 460.8 kB/s = 46 MB/s",
                     f"{rate / WIRE_RATE:,.0f} x 460.8 kB/s; {fps / 100:,.0f} x 100 frames/s"))
    return rows


def _decode_all(profile: Profile, wire: bytes, n: int) -> None:
    decoder = make_decoder(profile)
    got = 0
    for i in range(0, len(wire), READ_CHUNK):
        out = decoder.feed(wire[i:i + READ_CHUNK], 0.0)
        got += len(out.frames) if out.frames is not None else 0
    if got != n:
        raise SystemExit(f"{profile.name}: decoded {got} frames of {n}")


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_cpu(cmd: list[str], seconds: float) -> dict[str, float]:
    """Run ``cmd`` for about ``seconds``: CPU share after start-up, and in all (rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(SETTLE_S)  # the benchmark's own clock: let the process reach steady state
    cpu_a, wall_a = _proc_cpu(proc.pid), time.monotonic()
    time.sleep(max(0.5, seconds - SETTLE_S - 0.5))
    cpu_b, wall_b = _proc_cpu(proc.pid), time.monotonic()
    out, err = proc.communicate(timeout=seconds + 60)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {err.decode()[-400:]}")
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"steady": (cpu_b - cpu_a) / (wall_b - wall_a), "total": total / wall, "wall": wall,
            "out": float(out.split()[-1]) if out.split() else 0.0}


PYSERIAL_LOOP = """
import sys, time, serial
from firmware_bridge.urlhandler import register; register()  # sim://
port = serial.serial_for_url(sys.argv[1], timeout=0.05)
end, n = time.monotonic() + float(sys.argv[2]), 0
while time.monotonic() < end:
    n += len(port.read(max(1, port.in_waiting)))
print(n)
"""


def record_figures(seconds: float, store_path: Path) -> list[tuple[str, str, str, str]]:
    sotlog = Path(sys.executable).with_name("sotlog")
    head = [str(sotlog)] if sotlog.exists() else [sys.executable, "-m", "dashboard.cli"]
    rec = run_cpu([*head, "record", "--port", URL, "--profile", "sim-mat-48", "--duration",
                   f"{seconds:g}", "--store", str(store_path)], seconds)
    base = run_cpu([sys.executable, "-c", PYSERIAL_LOOP, URL, f"{seconds:g}"], seconds)
    info = Store.open(store_path).sessions()[0]
    rate = info.counters.get("bytes", 0) / max(info.duration_s, 1e-9)
    return [
        ("CPU of sotlog record, 48x48 @ 100 fps",
         f"{100 * rec['steady']:.1f} % of a core after start-up, {100 * rec['total']:.1f} % "
         f"in all ({info.n_frames} frames, {rate / 1e3:.0f} kB/s, {rec['wall']:.0f} s)",
         "< 25 % of one core",
         f"pyserial read loop alone: {100 * base['steady']:.1f} % after start-up, "
         f"{100 * base['total']:.1f} % in all"),
    ]


def measure_figures(store_path: Path) -> list[tuple[str, str, str, str]]:
    frames = sim_frames(48, 48, 100, 10.0)[0]
    matrix = load_profile("sim-mat-48").matrix
    assert matrix is not None
    regions = [Region("left", 25, 45, 2, 24), Region("right", 25, 45, 24, 46)]
    n = len(frames)
    fm = best_of(lambda: frame_measures(frames, matrix)) / n
    bc = best_of(lambda: block_channels(frames, matrix, regions)) / n
    block = FrameBlock.build(frames[-1:], 0.0)
    lp = best_of(lambda: live_payload(block, matrix, regions))
    store = Store.open(store_path)
    session = store.session(store.sessions()[0].id)
    nf = session.info.n_frames
    rd = best_of(lambda: session.samples(), repeats=1) / nf
    budget = 1e6 / 100
    return [
        ("measures per frame (48x48): frame_measures", f"{fm * 1e6:.1f} us",
         f"<< {budget:,.0f} us (one frame at 100 fps)", f"{budget / (fm * 1e6):,.0f} x headroom"),
        ("  block_channels, 2 regions + total", f"{bc * 1e6:.1f} us", f"<< {budget:,.0f} us",
         f"{budget / (bc * 1e6):,.0f} x headroom"),
        ("  live_payload of the newest frame", f"{lp * 1e3:.2f} ms per call",
         "<< 33 ms (a 30 Hz live view)", f"{33e-3 / lp:,.0f} x headroom"),
        ("  Session.samples of the stored session", f"{rd * 1e6:.1f} us per frame ({nf} frames)",
         "a 10-min 100 fps session in seconds", f"{rd * 60_000:.1f} s for 60,000 frames"),
    ]


def storage_figures(store_path: Path) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    n, vals, rest = conn.execute(
        "SELECT sum(count), sum(length(vals)), sum(length(host_time) + length(device_time) + "
        "length(seq) + length(flags)) FROM chunks").fetchone()
    raw, = conn.execute("SELECT sum(length(data) + length(arrival) + length(offsets)) "
                        "FROM raw").fetchone()
    conn.close()
    disk = store_path.stat().st_size + sum(
        p.stat().st_size for p in store_path.parent.glob(store_path.name + "-*"))
    frame_raw = 48 * 48 * 2
    per = (vals + rest) / n
    # The 50 frames/s session: the simulator's frames encoded as the recorder stores them.
    frames50, device = sim_frames(48, 48, 50, 60.0)
    t = np.arange(len(frames50)) / 50.0
    stored = 0
    for a in range(0, len(frames50), 50):  # one chunk per second
        block = FrameBlock.build(frames50[a:a + 50], t[a:a + 50], t[a:a + 50],
                                 np.arange(a, a + len(frames50[a:a + 50])))
        row = store_codec.encode_chunk(block)
        stored += sum(len(row[k]) for k in ("vals", "host_time", "device_time", "seq", "flags"))
    wire = device.render(250, 250 + len(frames50))
    raw50 = sum(len(zlib.compress(b"".join(wire[a:a + 25]), 1)) for a in range(0, len(wire), 25))
    s50, r50 = stored / len(frames50), raw50 / len(frames50)
    frames_30min = 50 * 1800
    return [
        ("stored samples per frame (48x48 uint16, 100 fps)",
         f"{per:,.0f} B ({vals / n:,.0f} values + {rest / n:,.0f} times/seq/flags)",
         f"<< {frame_raw:,} B raw frame", f"{frame_raw / per:.1f} x smaller than raw"),
        ("  raw capture per frame (wire bytes, zlib)", f"{raw / n:,.0f} B",
         "kept whole, lossless", f"{(frame_raw + 32) / (raw / n):.1f} x smaller than the wire"),
        ("  whole store file per frame", f"{disk / n:,.0f} B", "", f"{n} frames"),
        ("30-min 48x48 session at 50 fps (modelled)",
         f"{frames_30min * s50 / 1e6:,.0f} MB samples + {frames_30min * r50 / 1e6:,.0f} MB raw "
         f"capture ({s50:,.0f} + {r50:,.0f} B/frame)",
         "fits a clinic laptop: tens of sessions per GB",
         f"{frames_30min * frame_raw / 1e6:,.0f} MB as raw uint16 frames"),
    ]


def table(rows: list[tuple[str, str, str, str]]) -> str:
    head = ("figure", "measured", "target", "baseline")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long each subprocess records (default 20)")
    args = parser.parse_args()
    rows = decode_figures()
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "bench.sqlite3"
        rows += record_figures(args.seconds, store_path)
        rows += measure_figures(store_path)
        rows += storage_figures(store_path)
    print(f"sotlog mat benchmark, {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(table(rows))


if __name__ == "__main__":
    main()
