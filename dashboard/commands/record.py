"""``sotlog record``: read a device into a new session until the duration ends or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

import numpy as np

from dashboard.commands import add_store_arg, fmt_num, print_json
from firmware_bridge.frames import FrameBlock, Notice


def register(sub: Any) -> None:
    p = sub.add_parser(
        "record", help="record a session from a device",
        description="Record a session from a device until --duration ends or Ctrl-C (a clean "
                    "stop). Shows a live status line and prints the session id at the end.")
    p.add_argument("--port", required=True, metavar="URL",
                   help="pyserial URL: /dev/ttyUSB0, COM3, socket://host:port, loop://, "
                        "sim://loadcells?... (see `sotlog ports`)")
    p.add_argument("--profile", required=True, metavar="NAME_OR_PATH",
                   help="built-in profile name (see `sotlog profiles`) or a .toml file")
    p.add_argument("--duration", type=_positive, metavar="S", help="seconds to record")
    p.add_argument("--subject", metavar="CODE", help="subject code (a pseudonym, e.g. P-0042)")
    p.add_argument("--position", choices=("prone", "supine"))
    p.add_argument("--category", choices=("I", "II", "III", "other"))
    p.add_argument("--short-leg", choices=("left", "right", "none"))
    p.add_argument("--block", action="append", default=[], metavar="SIDE:LANDMARK[:ANGLE]",
                   help="a block, e.g. left:iliac_crest:30 (repeat for each block); landmarks: "
                        "iliac_crest, greater_trochanter, acetabulum, ilium, sacrum, other")
    p.add_argument("--body-weight", type=_positive, metavar="KG", help="body weight in kg")
    p.add_argument("--note", default="", metavar="TEXT", help="a free-text note")
    p.add_argument("--units", choices=("N", "kgf", "lbf"), default="N",
                   help="force unit of the status line")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    add_store_arg(p)
    p.set_defaults(func=run)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


class StatusListener:
    """Keeps what the status line shows; called on the bridge thread, so it only stores."""

    def __init__(self) -> None:
        self.frames = 0
        self.last: np.ndarray | None = None
        self.notices = 0
        self.last_notice: Notice | None = None

    def on_raw(self, data: bytes, host_time: float) -> None:
        pass

    def on_frames(self, block: FrameBlock) -> None:
        self.frames += len(block)
        self.last = block.values[-1:]

    def on_notice(self, notice: Notice) -> None:
        self.notices += 1
        self.last_notice = notice


def run(args: argparse.Namespace) -> int:
    from firmware_bridge.bridge import Bridge
    from firmware_bridge.profiles import load_profile
    from sensing import open_store
    from sensing.conversion import Conversion
    from sensing.model import Block, SessionMeta
    from sensing.recorder import Recorder

    meta = SessionMeta(
        subject_code=args.subject, position=args.position, category=args.category,
        short_leg=args.short_leg, blocks=[Block.parse(b) for b in args.block],
        body_weight_kg=args.body_weight, note=args.note,
    )
    profile = load_profile(args.profile)
    bridge = Bridge(args.port, profile)
    bridge.open_once()  # fail fast, with one line, if the port is not there; opened once only
    store = open_store(args.store)
    t0 = time.monotonic()
    sid = store.create_session(meta, profile, port=args.port, device=_describe(args.port),
                               t0_host=t0)
    recorder = Recorder(store, sid)
    status = StatusListener()
    conversion = Conversion.for_session(store.session(sid).info)
    bridge.add_listener(recorder)
    bridge.add_listener(status)

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    interactive = sys.stderr.isatty()
    bridge.start()
    last_print = 0.0
    try:
        while not stop.is_set():
            elapsed = time.monotonic() - t0
            if args.duration and elapsed >= args.duration:
                break
            if interactive or elapsed - last_print >= 10:
                line = _status_line(elapsed, status, bridge, conversion, args.units)
                print(("\r" + line.ljust(110)) if interactive else line, end="" if interactive
                      else "\n", file=sys.stderr, flush=True)
                last_print = elapsed
            stop.wait(0.25 if interactive else 0.5)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a person ends a recording: a clean stop, not an error
    finally:
        signal.signal(signal.SIGTERM, previous)
        bridge.stop()
        recorder.close(status="complete", counters=bridge.counters)
        if interactive:
            print(file=sys.stderr)
    info = store.session(sid).info
    if recorder.error:
        print(f"sotlog: warning: the store reported an error while recording: {recorder.error}",
              file=sys.stderr)
    if args.json:
        print_json({"id": sid, "uuid": info.uuid, "status": info.status,
                    "duration_s": info.duration_s, "frames": info.n_frames,
                    "counters": info.counters, "store": str(store.path)})
    else:
        print(f"recorded session {sid}: {fmt_num(info.duration_s)} s, {info.n_frames} frames "
              f"({_counter_text(info.counters)})", file=sys.stderr)
        print(sid)
    return 0


def _describe(url: str) -> str:
    from firmware_bridge.ports import list_ports

    for p in list_ports():
        if p.device == url:
            return p.description + (f" [{p.vid_pid}]" if p.vid_pid else "")
    return url


def _counter_text(counters: dict[str, int]) -> str:
    shown = {k: v for k, v in counters.items() if v and k not in ("bytes", "frames")}
    if not shown:
        return "no decode errors, no gaps"
    return ", ".join(f"{k} {v}" for k, v in shown.items())


def _status_line(elapsed: float, status: StatusListener, bridge: Any, conversion: Any,
                 units: str) -> str:
    parts = [f"{elapsed:7.1f} s", f"{status.frames} frames", bridge.state]
    if status.last is not None and status.last.ndim == 2:
        forces = conversion.apply(status.last, units)[0][0]
        parts.append(" ".join(f"{n} {fmt_num(float(v))}" for n, v in
                              zip(conversion.names, forces, strict=False)) + f" {units}")
    elif status.last is not None:
        parts.append(f"sum {float(np.sum(status.last)):.0f} raw")
    c = bridge.counters
    parts.append(f"errors {c.undecodable + c.crc_errors + c.wrong_size} gaps {c.seq_gaps} "
                 f"reconnects {c.reconnects}")
    return " | ".join(parts)
