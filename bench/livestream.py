"""What one live viewer of a 48x48 mat at 100 frames/s costs on the wire, and the server's CPU.

``sotlog serve`` reads ``sim://mat?rows=48&cols=48&rate=100&protocol=blockframe&seed=1`` with
profile ``sim-mat-48`` in a subprocess (bench/live.py's Server). Viewers are ``websockets``
clients in a child process, offering permessage-deflate as browsers do, or not. Each counts the
bytes its TCP connection delivers (WebSocket framing included, after compression) from its
first batch on (the history a new viewer is sent first is left out), and decodes every message.

Baselines in the same run:
- the device's own wire: 48 x 48 x 2 B x 100 frames/s;
- the JSON stream as it was before binary frames, rebuilt from the very messages each viewer
  got: every batch with the whole status in it and the heat-map frame as a list of ints,
  JSON-encoded as the server did, plain and through the server's permessage-deflate settings
  (zlib, 4 KiB window, memLevel 5, one compressor per connection);
- the server's CPU with no viewer;
- the CPU one viewer's messages take to encode (in this process, on the same content): the
  batches as sent plus ``livewire.encode_mat`` of each frame, against the frame made a list of
  ints and each batch with the whole status JSON-encoded as before.

    python bench/livestream.py [--seconds 10] [--viewers 1,10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import struct
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from live import Server  # bench/live.py, beside this file
from tables import aligned  # bench/tables.py, beside this file

from dashboard.web.livewire import encode_mat

URL = "sim://mat?rows=48&cols=48&rate=100&protocol=blockframe&seed=1"
PROFILE = "sim-mat-48"
RAW_WIRE_B_S = 48 * 48 * 2 * 100
TARGET_DRAWN_B_S = 15_000  # per viewer, at the 5 heat maps a second the page draws
LOADED_AFTER_FRAMES = 1500  # the simulated body is on the mat from about 11 s of its cycle


@dataclass
class Row:
    """One line of the table: a viewer kind in a phase, or a baseline."""

    name: str
    viewers: int
    bytes_per_s: float | None
    bytes_per_frame: float | None
    mat_frames_per_s: float | None
    batches_per_s: float | None
    cpu_pct: float | None
    encode_pct: float | None  # % of one core to encode one viewer's messages


class _Deflate:
    """permessage-deflate as the server runs it: one raw-deflate stream per connection."""

    def __init__(self) -> None:
        self.z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -12, 5)

    def size(self, payload: bytes) -> int:
        body = self.z.compress(payload) + self.z.flush(zlib.Z_SYNC_FLUSH)
        return _framed(len(body) - 4)  # the closing 00 00 ff ff is not sent


def _framed(n: int) -> int:
    """A server frame's length on the wire: 2 header bytes, 2 or 8 more for a long one."""
    return n + 2 + (0 if n < 126 else 2 if n < 65536 else 8)


def _split(message: bytes) -> tuple[dict[str, Any], np.ndarray]:
    """A binary mat frame's facts (without ``dtype``) and image."""
    (length,) = struct.unpack_from("<I", message, 4)
    facts = json.loads(message[8:8 + length])
    dtype = np.dtype(facts.pop("dtype")).newbyteorder("<")
    image = np.frombuffer(message, dtype, offset=8 + length)
    return facts, image.reshape(facts["rows"], facts["cols"])


class Tally:
    """One viewer's counts, and the same messages as the JSON stream used to send them."""

    def __init__(self) -> None:
        self.wire = self.frames = self.batches = 0
        self.old_plain = self.old_deflated = 0
        self.cpu_new = self.cpu_old = 0.0  # seconds to encode what was sent, each way
        self.status: dict[str, Any] = {}
        self.pending: dict[str, Any] | None = None
        self.deflate = _Deflate()

    def take(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.frames += 1
            facts, image = _split(message)
            t0 = time.process_time()
            encode_mat(facts, image)
            t1 = time.process_time()
            # as the JSON stream made its list (sensing.mat.live_payload)
            values = image.astype(np.int64).astype(object).ravel().tolist()
            self.cpu_new += t1 - t0
            self.cpu_old += time.process_time() - t1
            if self.pending is not None:
                self.pending["mat"] = {**facts, "values": values}
            return
        batch = json.loads(message)
        if batch["type"] != "batch":
            return
        self.batches += 1
        t0 = time.process_time()
        json.dumps(batch)
        self.cpu_new += time.process_time() - t0
        self.status.update(batch.get("status", {}))
        self.close_pending()
        self.pending = {"type": "batch", "t": batch["t"], "values": batch["values"],
                        "events": batch.get("events", []), "skipped": batch.get("skipped", 0),
                        **self.status}

    def close_pending(self) -> None:
        if self.pending is not None:
            t0 = time.process_time()
            old = json.dumps(self.pending).encode()
            self.cpu_old += time.process_time() - t0
            self.old_plain += _framed(len(old))
            self.old_deflated += self.deflate.size(old)
            self.pending = None


async def _viewer(url: str, compression: str | None, seconds: float, started: asyncio.Event,
                  arrived: list[int], out: list[tuple[str, Tally, float]]) -> None:
    from websockets.asyncio.client import ClientConnection, connect

    class Counting(ClientConnection):
        received = 0

        def data_received(self, data: bytes) -> None:
            self.received += len(data)
            super().data_received(data)

    async with connect(url, compression=compression, max_size=None,
                       create_connection=Counting) as ws:
        tally = Tally()
        while True:  # hello, then the first batch: the history, not this viewer's steady cost
            message = await ws.recv()
            if isinstance(message, str) and json.loads(message)["type"] == "batch":
                tally.status.update(json.loads(message).get("status", {}))
                break
        arrived.append(1)
        await started.wait()
        first = ws.received
        begin = time.monotonic()
        while (left := begin + seconds - time.monotonic()) > 0:
            try:
                tally.take(await asyncio.wait_for(ws.recv(), left))
            except TimeoutError:
                break
        took = time.monotonic() - begin
        tally.pending = None  # the beat cut off at the end is in neither count
        tally.wire = ws.received - first
        out.append((compression or "none", tally, took))


def viewers_child(url: str, kinds: list[str | None], seconds: float, ready: Any,
                  results: Any) -> None:
    async def main() -> None:
        started = asyncio.Event()
        out: list[tuple[str, Tally, float]] = []
        arrived: list[int] = []
        tasks = [asyncio.create_task(_viewer(url, k, seconds, started, arrived, out))
                 for k in kinds]
        deadline = time.monotonic() + 30
        while len(arrived) < len(kinds):  # every viewer connected and past its history
            failed = [t for t in tasks if t.done() and t.exception()]
            if failed or time.monotonic() > deadline:
                raise RuntimeError(f"a viewer did not connect: {failed}")
            await asyncio.sleep(0.01)
        ready.set()
        started.set()
        await asyncio.gather(*tasks)
        results.put([(kind, t.wire, t.frames, t.batches, t.old_plain, t.old_deflated, took,
                      t.cpu_new, t.cpu_old) for kind, t, took in out])

    asyncio.run(main())


def run_phase(server: Server, kinds: list[str | None], seconds: float
              ) -> tuple[list[tuple[Any, ...]], float]:
    """(per-viewer results, server CPU % over the phase)."""
    ctx = mp.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    url = f"ws://127.0.0.1:{server.http_port}/api/live"
    child = None
    if kinds:
        child = ctx.Process(target=viewers_child, args=(url, kinds, seconds, ready, results),
                            daemon=True)
        child.start()
        if not ready.wait(60):
            raise SystemExit("the viewers did not connect")
    cpu0, t0 = server.cpu_s(), time.monotonic()
    time.sleep(seconds)
    cpu = 100.0 * (server.cpu_s() - cpu0) / (time.monotonic() - t0)
    got: list[tuple[Any, ...]] = []
    if child is not None:
        got = results.get(timeout=60)
        child.join(10)
    return got, cpu


def rows_of(n: int, got: list[tuple[Any, ...]], cpu: float) -> tuple[list[Row], list[Row]]:
    """(rows per viewer kind, baseline rows rebuilt from the same messages)."""
    rows, base = [], []
    for kind in ("none", "deflate"):
        mine = [g for g in got if g[0] == kind]
        if not mine:
            continue
        took = sum(g[6] for g in mine)
        frames = sum(g[2] for g in mine)
        label = "permessage-deflate" if kind == "deflate" else "no compression"
        per_s = sum(g[1] for g in mine) / took
        rows.append(Row(f"binary + status on change, {label}", n, round(per_s),
                        round(per_s * took / max(frames, 1)), round(frames / took, 1),
                        round(sum(g[3] for g in mine) / took, 1), round(cpu, 1),
                        round(100 * sum(g[7] for g in mine) / took, 2)))
        old = sum(g[5 if kind == "deflate" else 4] for g in mine) / took
        base.append(Row(f"  baseline: JSON as before, {label}", n, round(old),
                        round(old * took / max(frames, 1)), None, None, None,
                        round(100 * sum(g[8] for g in mine) / took, 2)))
    return rows, base


def table(rows: list[Row], seconds: float) -> str:
    def f(x: Any) -> str:
        return "–" if x is None else f"{x:,}" if isinstance(x, int) else str(x)

    head = ["stream", "viewers", "B/s per viewer", "B per mat frame drawn", "mat frames/s",
            "batches/s", "server CPU %", "encoding CPU % per viewer"]
    body = [[r.name, f(r.viewers), f(r.bytes_per_s), f(r.bytes_per_frame),
             f(r.mat_frames_per_s), f(r.batches_per_s), f(r.cpu_pct), f(r.encode_pct)]
            for r in rows]
    lines = [f"live mat stream, 48x48 uint16 at 100 frames/s, {seconds:g} s per phase "
             f"(target: under {TARGET_DRAWN_B_S:,} B/s per viewer at 5 heat maps a second)",
             *aligned(head, body)]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per phase (default 10)")
    ap.add_argument("--viewers", default="1,10",
                    help="viewers per phase, each phase run without and with deflate")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    counts = [int(v) for v in args.viewers.split(",")]
    rows = [Row("baseline: the device's wire (48 x 48 x 2 B x 100/s)", 0, RAW_WIRE_B_S,
                48 * 48 * 2, 100.0, None, None, None)]
    with tempfile.TemporaryDirectory(prefix="sotlog-bench-livestream-") as tmp:
        server = Server(URL, Path(tmp) / "bench.sqlite3", PROFILE)
        try:
            while server.frames() < LOADED_AFTER_FRAMES:  # another process: poll its count
                time.sleep(0.2)
            _, idle = run_phase(server, [], args.seconds)
            rows.append(Row("baseline: serve with no viewer", 0, None, None, None, None,
                            round(idle, 1), None))
            for n in counts:
                for kind in (None, "deflate"):
                    got, cpu = run_phase(server, [kind] * n, args.seconds)
                    mine, base = rows_of(n, got, cpu)
                    rows += mine + base
        finally:
            server.stop()
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=1))
    else:
        print(table(rows, args.seconds))
    deflated = [r for r in rows if r.name.endswith("permessage-deflate")
                and not r.name.startswith(" ")]
    ok = all(r.bytes_per_s is not None and r.bytes_per_s < TARGET_DRAWN_B_S for r in deflated)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
