"""``sotlog record``: read a device into a new session until the duration ends or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

import numpy as np

from dashboard.cli.calibrate import add_calibration_arg
from dashboard.cli.common import (
    add_metadata_args,
    add_store_arg,
    fmt_num,
    meta_from_args,
    positive,
    print_json,
)
from firmware_bridge.frames import FrameBlock
from firmware_bridge.ports import describe_port
from sensing.calibration.capture import FrameTap

TARE_GRACE_S = 2.0  # how much longer than the tare window to wait for its frames


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
    p.add_argument("--duration", type=positive, metavar="S", help="seconds to record")
    add_metadata_args(p)
    p.add_argument("--units", choices=("N", "kgf", "lbf"), default="N",
                   help="force unit of the status line")
    p.add_argument("--tare", action="store_true",
                   help="zero every channel on the first --tare-seconds of the recording: keep "
                        "the blocks unloaded when it starts (the tare frames stay in the session)")
    p.add_argument("--tare-seconds", type=positive, default=1.0, metavar="S",
                   help="length of the tare window (default 1)")
    add_calibration_arg(p)
    p.add_argument("--no-calibration", action="store_true",
                   help="use the profile's scale, not the newest calibration of this profile")
    p.add_argument("--max-cal-age-days", type=positive, metavar="DAYS",
                   help="warn when the calibration is older (default $SOTLOG_CAL_MAX_AGE_DAYS, "
                        "else 30)")
    p.add_argument("--lsl", action="store_true",
                   help="also publish forces and events on Lab Streaming Layer "
                        "(needs: pip install 'sotlog[lsl]')")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    add_store_arg(p)
    p.set_defaults(func=run)


class StatusListener:
    """Keeps what the status line shows; called on the bridge thread, so it only stores.

    It listens to frames only: the bridge skips listener methods a listener does not have, and
    the status line's error counts come from the bridge's counters.
    """

    def __init__(self) -> None:
        self.frames = 0
        self.last: np.ndarray | None = None

    def on_frames(self, block: FrameBlock) -> None:
        self.frames += len(block)
        self.last = block.values[-1:]


def run(args: argparse.Namespace) -> int:
    from firmware_bridge.bridge import Bridge
    from firmware_bridge.profiles import load_profile
    from sensing.calibration.conversion import Conversion
    from sensing.store.sessions import Store
    from sensing.store.writer import Recorder

    meta = meta_from_args(args)
    profile = load_profile(args.profile)
    bridge = Bridge(args.port, profile)
    bridge.open_once()  # fail fast, with one line, if the port is not there; opened once only
    store = Store.open(args.store)
    start_conversion, findings = session_calibration(store, profile, args)
    lsl = None
    if args.lsl:  # before the session exists, so a missing pylsl leaves nothing half-made
        from sensing.outputs.lsl import LslOutlet

        lsl = LslOutlet(profile, f"sotlog:{args.port}", start_conversion, args.units)
    t0 = time.monotonic()
    sid = store.create_session(meta, profile, port=args.port, device=describe_port(args.port),
                               t0_host=t0, conversion=start_conversion)
    recorder = Recorder(store, sid)
    _report(findings, recorder, t0)
    status = StatusListener()
    conversion = Conversion.from_profile(profile, store.session(sid).info.conversion)
    tap = FrameTap() if args.tare else None
    bridge.add_listener(recorder)
    bridge.add_listener(status)
    if tap is not None:
        bridge.add_listener(tap)
    if lsl is not None:
        bridge.add_listener(lsl)

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    interactive = sys.stderr.isatty()
    bridge.start()
    last_print = 0.0
    try:
        if tap is not None:
            take_tare(store, sid, recorder, tap, t0, args.tare_seconds, profile)
            bridge.remove_listener(tap)
            conversion = Conversion.from_profile(profile, store.session(sid).info.conversion)
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
        if lsl is not None:
            lsl.close()
        if interactive:
            print(file=sys.stderr)
    session = store.session(sid)
    info = session.info
    _report(end_checks(session), None, None, store, sid, info.duration_s)
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


def session_calibration(store: Any, profile: Any, args: argparse.Namespace
                        ) -> tuple[dict[str, Any], list[Any]]:
    """The conversion a new session starts with, and what the calibration checks found.

    ``--calibration`` ids, else the newest calibration of each channel made with this profile
    (``--no-calibration``: none, the profile's scale alone).
    """
    from firmware_bridge.errors import CalibrationError
    from sensing.calibration.fit import with_calibrations
    from sensing.metrics.checks import Finding, calibration_age
    from sensing.store.calibrations import CalibrationStore

    if args.no_calibration:
        if args.calibration:
            raise CalibrationError("give --calibration or --no-calibration, not both")
        return {}, []
    cals = CalibrationStore(store)
    names = profile.channel_names or ["total"]
    if args.calibration:
        chosen = cals.resolve([i for group in args.calibration for i in group])
        wrong = [c.channel for c in chosen if c.channel not in names]
        if wrong:
            raise CalibrationError(f"profile {profile.name!r} has no channel "
                                   f"{', '.join(map(repr, wrong))} (channels: {', '.join(names)})")
    else:
        chosen = cals.latest(profile.name, names,
                             kind="mat_total" if profile.is_matrix else "loadcell")
    if not chosen:
        return {}, []
    conversion = with_calibrations({}, chosen)
    used = [Finding("calibration", c.channel,
                    f"using calibration {c.id} for {c.channel} ({c.fit.fit if c.fit else '-'}, "
                    f"by {c.by or '-'}, {c.created_utc[:10]})", False, {"calibration_id": c.id})
            for c in chosen]
    return conversion, used + calibration_age(conversion,
                                              limit_days=args.max_cal_age_days)


def take_tare(store: Any, sid: int, recorder: Any, tap: Any, t0: float, seconds: float,
              profile: Any) -> None:
    """Zero the session on its first ``seconds`` of frames: a tare event and its conversion."""
    from firmware_bridge.errors import CalibrationError
    from sensing.calibration.tare import tare_offsets, with_tare
    from sensing.metrics.checks import tare_steadiness

    blocks = []
    deadline = time.monotonic() + seconds + TARE_GRACE_S
    while time.monotonic() < deadline:
        block = tap.get(0.1)
        if block is not None and len(block):
            blocks.append(block)
            if block.host_time[-1] >= t0 + seconds:
                break
    if not blocks:
        raise CalibrationError(f"no data arrived from the device during the {seconds:g} s tare")
    frames = FrameBlock.concat(blocks)
    keep = frames.host_time <= t0 + seconds
    frames = FrameBlock(frames.values[keep], frames.host_time[keep], frames.device_time[keep],
                        frames.seq[keep], frames.flags[keep]) if keep.any() else frames
    info = store.session(sid).info
    names = profile.channel_names or ["total"]
    tare = tare_offsets(frames, names, info.profile.matrix, info.conversion)
    text = f"tare over the first {tare['window_s']:.2f} s ({tare['frames']} frames)"
    recorder.add_event("tare", text, tare, host_time=float(frames.host_time[0]),
                       source="sotlog")
    store.set_conversion(sid, with_tare(info.conversion, tare))
    print(f"sotlog: {text}: " + ", ".join(f"{n} {v:.1f} raw" for n, v in
                                          tare["offsets"].items()), file=sys.stderr)
    _report(tare_steadiness(frames, names), recorder, float(frames.host_time[-1]))


def end_checks(session: Any) -> list[Any]:
    """Zero drift and saturation over the stored session (calibration age was said at start)."""
    from sensing.metrics.checks import frame_windows, saturation, zero_drift

    return [*zero_drift(session), *saturation(frame_windows(session), session.info.profile)]


def _report(findings: list[Any], recorder: Any, host_time: float | None, store: Any = None,
            sid: int | None = None, time_s: float = 0.0) -> None:
    """Print what the checks found; store each warning as a ``warning`` event."""
    for f in findings:
        if not f.warn:
            if f.check == "calibration":
                print(f"sotlog: {f.text}", file=sys.stderr)
            continue
        print(f"sotlog: warning: {f.text}", file=sys.stderr)
        data = {"check": f.check, "channel": f.channel, **f.data}
        if recorder is not None:
            recorder.add_event("warning", f.text, data, host_time=host_time, source="sotlog")
        elif store is not None and sid is not None:
            store.add_event(sid, "warning", f.text, data, time_s=time_s, source="sotlog")


ERROR_COUNTERS = ("undecodable", "crc_errors", "seq_gaps", "out_of_range", "wrong_size",
                  "reconnects")


def _counter_text(counters: dict[str, Any]) -> str:
    """What went wrong on the wire or in the store, or that nothing did."""
    shown = {k: counters.get(k) for k in ERROR_COUNTERS if counters.get(k)}
    lost = {k: v for k, v in (counters.get("not_stored") or {}).items() if v}
    parts = [f"{k} {v}" for k, v in shown.items()]
    parts += [f"not stored: {v} {k.replace('_', ' ')}" for k, v in lost.items()]
    return ", ".join(parts) if parts else "no decode errors, no gaps"


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
    parts.append(f"errors {c.undecodable + c.crc_errors + c.wrong_size} sequence gaps {c.seq_gaps} "
                 f"reconnects {c.reconnects}")
    return " | ".join(parts)
