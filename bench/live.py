"""Live path latency and load: from a frame's bytes on the serial port to a WebSocket viewer.

A pseudo-terminal plays the device: this process writes ``blockframe`` frames (profile
``sotlog-loadcells``: two int32 channels) on the pty master, each carrying its own sequence number
in channel ``left`` and its send time (µs since the bench started, host monotonic clock) in
channel ``right``. ``sotlog serve --port /dev/pts/N --profile sotlog-loadcells`` runs as a
subprocess and reads the slave side like any serial port. Viewers are ``websockets`` clients in a
child process; each sample they receive says when it was sent, so latency is arrival minus send
time on the same clock (both processes read CLOCK_MONOTONIC).

Phases: 0, 1, 10 and 50 viewers connected while the server records a session. For each phase:
latency p50/p95/p99 over every sample every viewer got, batches per second per viewer, the
server's CPU (user+system time of its process over the phase, % of one core), and the recorder's
frame loss (frames sent during the phase that the stored session does not hold). Baseline in the
same run: the raw pty read latency (a reader thread on the slave side decoding with the same
blockframe decoder), and the 0-viewer phase for CPU.

    python bench/live.py [--rate 80] [--seconds 8] [--viewers 0,1,10,50] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tables import aligned  # bench/tables.py, beside this file

from firmware_bridge.profiles import load_profile
from firmware_bridge.protocols import make_decoder
from firmware_bridge.protocols.blockframe import encode_frame

PROFILE = "sotlog-loadcells"
T0 = time.monotonic()  # send times are µs since this instant (CLOCK_MONOTONIC is system-wide)
TARGET_P99_MS = 50.0
START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 15.0


@dataclass
class Phase:
    """What one run of the pipeline measured."""

    name: str
    viewers: int
    frames_sent: int
    frames_stored: int | None
    lost: int | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    samples: int
    batches_per_s: float | None
    cpu_pct: float | None
    dropped_viewers: int = 0


class Writer:
    """Writes frames on the pty master at ``rate`` per second, each stamped just before write."""

    def __init__(self, master: int, rate: float) -> None:
        self.master, self.rate = master, rate
        self.seq = 0

    def frame(self) -> bytes:
        sent_us = int((time.monotonic() - T0) * 1e6)
        data = encode_frame(np.array([self.seq, sent_us], np.int32), self.seq, sent_us)
        self.seq += 1
        return data

    def run(self, seconds: float) -> tuple[int, int]:
        """(first seq, frames written) over ``seconds`` at the steady rate."""
        first, n = self.seq, int(seconds * self.rate)
        start = time.monotonic()
        for k in range(n):
            due = start + k / self.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # a device sends on its own clock
            view = memoryview(self.frame())
            while view:
                view = view[os.write(self.master, view):]
        return first, n


def pty_pair() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)  # bytes pass unchanged, as on a USB serial port
    return master, slave, os.ttyname(slave)


def pty_baseline(rate: float, seconds: float) -> Phase:
    """Bytes written on a pty master to frames decoded from the slave, in one process."""
    master, slave, _ = pty_pair()
    decoder = make_decoder(load_profile(PROFILE))
    lat: list[np.ndarray] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([slave], [], [], 0.05)
            if not ready:
                continue
            data = os.read(slave, 65536)
            now = time.monotonic()
            block = decoder.feed(data, now).frames
            if block is not None and len(block):
                sent = T0 + block.values[:, 1].astype(np.float64) / 1e6
                lat.append((block.host_time - sent) * 1e3)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    _, n = Writer(master, rate).run(seconds)
    time.sleep(0.2)  # let the reader take the last frame
    stop.set()
    reader.join()
    os.close(master)
    os.close(slave)
    ms = np.concatenate(lat) if lat else np.empty(0)
    return _phase("raw pty read + decode", 0, n, None, None, ms, None, None)


# -- the viewers (a child process) -----------------------------------------------------------


async def _viewer(url: str, t0: float, first_seq: int, stop: asyncio.Event,
                  out: list[np.ndarray], counts: list[int]) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None) as ws:
        counts[0] += 1  # connected
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.monotonic()
            msg = json.loads(text)
            if msg.get("type") != "batch" or not msg["t"]:
                continue
            counts[1] += 1
            seq = np.asarray(msg["values"]["left"], dtype=np.float64)
            sent = np.asarray(msg["values"]["right"], dtype=np.float64)
            keep = seq >= first_seq  # history sent on connect is not this phase's
            if keep.any():
                out.append((now - (t0 + sent[keep] / 1e6)) * 1e3)


def viewers_child(url: str, n: int, t0: float, first_seq: int, ready: Any, finish: Any,
                  results: Any) -> None:
    """Connect ``n`` viewers, say ready, collect latencies until told to finish."""
    async def main() -> None:
        stop = asyncio.Event()
        lat: list[np.ndarray] = []
        counts = [[0, 0] for _ in range(n)]
        tasks = [asyncio.create_task(_viewer(url, t0, first_seq, stop, lat, counts[i]))
                 for i in range(n)]
        while sum(c[0] for c in counts) < n:
            await asyncio.sleep(0.01)
            failed = [t for t in tasks if t.done() and t.exception()]
            if failed:
                raise RuntimeError(f"a viewer could not connect: {failed[0].exception()}")
        ready.set()
        started = time.monotonic()
        while not finish.is_set():
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
        stop.set()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        dropped = sum(1 for d in done if isinstance(d, BaseException))
        ms = np.concatenate(lat) if lat else np.empty(0)
        results.put((ms, sum(c[1] for c in counts) / max(n, 1) / took, dropped))

    asyncio.run(main())


# -- the server (a subprocess) ---------------------------------------------------------------


class Server:
    """``sotlog serve --port PORT --profile PROFILE`` with a store of its own (``PORT``: a pty's
    path, or any port URL such as ``sim://…``)."""

    def __init__(self, pty_path: str, store: Path, profile: str = PROFILE) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.http_port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.store = store
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "serve", "--port", pty_path, "--profile",
             profile, "--http-port", str(self.http_port), "--store", str(store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        import httpx

        self.http = httpx.Client(base_url=self.base, timeout=10)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                _, err = self.proc.communicate()
                raise SystemExit(f"sotlog serve ended: {err}")
            try:
                if self.http.get("/api/status").json()["state"] == "connected":
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("sotlog serve did not come up")
            time.sleep(0.05)

    def cpu_s(self) -> float:
        """User + system seconds the server process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def frames(self) -> int:
        return int(self.http.get("/api/status").json()["counters"]["frames"])

    def stop(self) -> None:
        self.http.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_phase(server: Server, writer: Writer, viewers: int, seconds: float) -> Phase:
    ctx = mp.get_context("spawn")
    ready, finish, results = ctx.Event(), ctx.Event(), ctx.Queue()
    child = None
    first_seq = writer.seq
    if viewers:
        url = f"ws://127.0.0.1:{server.http_port}/api/live"
        child = ctx.Process(target=viewers_child,
                            args=(url, viewers, T0, first_seq, ready, finish, results),
                            daemon=True)
        child.start()
        if not ready.wait(60):
            raise SystemExit(f"{viewers} viewers did not connect")
    before = server.frames()
    sid = int(server.http.post("/api/recording", json={"note": f"bench {viewers} viewers"})
              .json()["session_id"])
    cpu0, t0 = server.cpu_s(), time.monotonic()
    first, n = writer.run(seconds)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while server.frames() < before + n and time.monotonic() < deadline:
        time.sleep(0.02)  # the server's own count of what it decoded: nothing else to wait on
    time.sleep(0.1)  # one more viewer beat, so the last frames reach the viewers
    cpu = 100.0 * (server.cpu_s() - cpu0) / (time.monotonic() - t0)
    server.http.post("/api/recording/stop")
    ms, per_s, dropped = np.empty(0), None, 0
    if child is not None:
        finish.set()
        ms, per_s, dropped = results.get(timeout=60)
        child.join(10)
    stored = stored_frames(server.store, sid, first, n)
    name = f"sotlog serve, {viewers} viewer{'s' if viewers != 1 else ''}"
    return _phase(name, viewers, n, stored, n - stored, ms, per_s, cpu, dropped)


def stored_frames(store: Path, sid: int, first: int, n: int) -> int:
    """How many of the frames sent in the phase (by their sequence) the session holds."""
    from sensing.store.sessions import Store

    values = Store.open(store).session(sid).frames().values
    seqs = np.unique(values[:, 0].astype(np.int64))
    return int(((seqs >= first) & (seqs < first + n)).sum())


def _phase(name: str, viewers: int, sent: int, stored: int | None, lost: int | None,
           ms: np.ndarray, per_s: float | None, cpu: float | None, dropped: int = 0) -> Phase:
    def pct(q: float) -> float | None:
        return round(float(np.percentile(ms, q)), 2) if ms.size else None

    return Phase(name, viewers, sent, stored, lost, pct(50), pct(95), pct(99),
                 round(float(ms.max()), 2) if ms.size else None, int(ms.size),
                 round(per_s, 1) if per_s is not None else None,
                 round(cpu, 1) if cpu is not None else None, dropped)


def table(phases: list[Phase], rate: float, seconds: float) -> str:
    def f(x: Any) -> str:
        return "–" if x is None else str(x)

    head = ["pipeline", "frames sent", "stored", "lost", "p50 ms", "p95 ms", "p99 ms", "max ms",
            "samples", "batches/s/viewer", "server CPU %"]
    rows = [[p.name, f(p.frames_sent), f(p.frames_stored), f(p.lost), f(p.p50_ms),
             f(p.p95_ms), f(p.p99_ms), f(p.max_ms), f(p.samples), f(p.batches_per_s),
             f(p.cpu_pct)] for p in phases]
    lines = [f"live path, {rate:g} frames/s for {seconds:g} s per phase "
             f"(target: p99 < {TARGET_P99_MS:g} ms, no frame lost with 50 viewers)",
             *aligned(head, rows)]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=80.0, help="frames per second (default 80)")
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds per phase (default 8)")
    ap.add_argument("--viewers", default="0,1,10,50", help="viewer counts, comma-separated")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    counts = [int(v) for v in args.viewers.split(",")]
    phases = [pty_baseline(args.rate, args.seconds)]
    master, slave, path = pty_pair()
    with tempfile.TemporaryDirectory(prefix="sotlog-bench-live-") as tmp:
        server = Server(path, Path(tmp) / "bench.sqlite3")
        try:
            writer = Writer(master, args.rate)
            for n in counts:
                phases.append(run_phase(server, writer, n, args.seconds))
        finally:
            server.stop()
            os.close(master)
            os.close(slave)
    if args.json:
        print(json.dumps([asdict(p) for p in phases], indent=1))
    else:
        print(table(phases, args.rate, args.seconds))
    worst = max((p for p in phases if p.viewers), key=lambda p: p.viewers, default=None)
    ok = all(p.p99_ms is None or p.p99_ms < TARGET_P99_MS for p in phases) and (
        worst is None or worst.lost == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
