"""``sotlog record``: read a device into a new session until the duration ends or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from dashboard.cli.calibrate import add_calibration_arg
from dashboard.cli.common import (
    add_metadata_args,
    add_store_arg,
    add_units_arg,
    fmt_num,
    meta_from_args,
    positive,
    print_json,
    red,
)
from firmware_bridge.errors import TareRefused
from firmware_bridge.words import COUNTER_LABELS, PROBLEM_COUNTERS

if TYPE_CHECKING:
    from firmware_bridge.frames import FrameBlock


def register(sub: Any) -> None:
    p = sub.add_parser(
        "record", help="record a session from a device",
        description="Record a session from a device until --duration ends or Ctrl-C (a clean "
                    "stop). Shows a live status line and prints the session id at the end.")
    p.add_argument("--port", required=True, metavar="URL",
                   help="pyserial URL: /dev/ttyUSB0, COM3, socket://host:port, loop://, "
                        "sim://loadcells?... (see `sotlog ports`)")
    p.add_argument("--profile", metavar="NAME_OR_PATH",
                   help="built-in profile name (see `sotlog profiles`) or a .toml file; a "
                        "sim:// device implies its built-in one")
    p.add_argument("--duration", type=positive, metavar="S", help="seconds to record")
    add_metadata_args(p)
    add_units_arg(p, "force unit of the status line")
    p.add_argument("--tare", action="store_true",
                   help="before the session starts, zero every channel on its mean over "
                        "--tare-seconds: keep the blocks unloaded and still. Refused when the "
                        "readings move or the blocks look loaded")
    p.add_argument("--tare-anyway", action="store_true",
                   help="with --tare: zero even if the tare is refused (kept with the session)")
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
    p.add_argument("--lsl-wait", type=positive, metavar="S",
                   help="with --lsl: before the session starts, wait up to S seconds for an "
                        "LSL consumer (LabRecorder) to subscribe, so it gets the start marker")
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
        self.last: FrameBlock | None = None

    def on_frames(self, block: FrameBlock) -> None:
        self.frames += len(block)
        self.last = block


def run(args: argparse.Namespace) -> int:
    from firmware_bridge.sim.implied import profile_for
    from sensing.recording.service import RecordingService
    from sensing.recording.setup import CalibrationChoice
    from sensing.store.config import sqlite_path
    from sensing.store.sessions import Store

    meta = meta_from_args(args)
    if args.tare_anyway and not args.tare:
        raise TareRefused("--tare-anyway goes with --tare")
    choice = CalibrationChoice(tuple(i for group in args.calibration or [] for i in group),
                               args.no_calibration, args.max_cal_age_days)
    profile = profile_for(args.port, args.profile)
    store = Store.open(sqlite_path(args.store))  # never the shared store: one line before all
    service = RecordingService(store, face="record", lsl_stream=args.lsl, lsl_units=args.units)
    service.connect(args.port, profile, calibration=choice, one_session=True)
    status = StatusListener()
    service.add_listener(status)
    stop = threading.Event()
    why: list[str] = []

    def on_sigterm(*_: object) -> None:
        why.append("stopped by SIGTERM")
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    interactive = sys.stderr.isatty()
    try:
        _report(service.findings)
        outlet = service.outlet
        if args.lsl_wait and outlet is not None and not outlet.wait_for_consumers(args.lsl_wait):
            print(f"sotlog: no LSL consumer subscribed within {args.lsl_wait:g} s; "
                      "starting anyway", file=sys.stderr)
        if args.tare:
            tare = service.tare(args.tare_seconds, force=args.tare_anyway)
            print(f"sotlog: tare over {tare['window_s']:.2f} s ({tare['frames']} frames): "
                  + ", ".join(f"{n} {v:.1f} raw" for n, v in tare["offsets"].items()),
                  file=sys.stderr)
        service.start(meta)
        t0 = time.monotonic()
        last_print = -10.0
        while not stop.is_set():
            elapsed = time.monotonic() - t0
            if args.duration and elapsed >= args.duration:
                why.append(f"the duration ({args.duration:g} s) ended")
                break
            if interactive or elapsed - last_print >= 10:
                line = _status_line(elapsed, status, service, args.units)
                print(("\r" + line.ljust(110)) if interactive else line, end="" if interactive
                      else "\n", file=sys.stderr, flush=True)
                last_print = elapsed
            stop.wait(0.25 if interactive else 0.5)
    except KeyboardInterrupt:
        why.append("stopped by Ctrl-C")  # how a person ends a recording: a clean stop
    except TareRefused as err:
        service.close()
        raise TareRefused(f"{err} (--tare-anyway)") from None
    except BaseException as err:
        service.close(f"sotlog record stopped by an error: {err}")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if interactive:
            print(file=sys.stderr)
    if service.recording is None:  # stopped during the tare: no session was made
        service.close()
        print("sotlog: stopped before the recording started; nothing recorded", file=sys.stderr)
        return 130
    ended = service.stop("complete", why[0] if why else "stopped")
    service.close()
    _report(ended.findings)
    if service.sync is not None and (behind := service.sync.not_copied()):
        print(f"sotlog: warning: {behind}", file=sys.stderr)
    if ended.store_error:
        print(f"sotlog: warning: the store reported an error while recording: "
              f"{ended.store_error}", file=sys.stderr)
    lost = {k: v for k, v in (ended.counters.get("not_stored") or {}).items() if v}
    if args.json:
        print_json({"id": ended.session_id, "uuid": ended.uuid, "status": ended.status,
                    "end_reason": ended.reason, "duration_s": ended.duration_s,
                    "frames": ended.frames, "counters": ended.counters, "store": str(store.path),
                    "decoded_nothing": ended.decoded_nothing})
    else:
        print(f"recorded session {ended.session_id}: {fmt_num(ended.duration_s)} s, "
              f"{ended.frames} frames ({_counter_text(ended.counters)}); {ended.reason}",
              file=sys.stderr)
        print(ended.session_id)
    if ended.decoded_nothing:
        print(red(f"sotlog: {ended.decoded_nothing}"), file=sys.stderr)
    if lost or ended.store_error:  # what reached sotlog but is not in the store: not a success
        what = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in lost.items()) or "part of it"
        print(f"sotlog: error: session {ended.session_id} is {ended.status}: {what} not stored"
              + (f" ({ended.store_error})" if ended.store_error else ""), file=sys.stderr)
        return 1
    return 0


def _report(findings: list[Any]) -> None:
    """Print what the checks found (the service stores them with the session)."""
    for f in findings:
        if f.warn:
            print(f"sotlog: warning: {f.text}", file=sys.stderr)
        elif f.check == "calibration":
            print(f"sotlog: {f.text}", file=sys.stderr)


def _counter_text(counters: dict[str, Any]) -> str:
    """What went wrong on the wire or in the store, or that nothing did."""
    parts = [f"{COUNTER_LABELS[k]} {counters[k]}" for k in PROBLEM_COUNTERS if counters.get(k)]
    lost = {k: v for k, v in (counters.get("not_stored") or {}).items() if v}
    parts += [f"not stored: {v} {k.replace('_', ' ')}" for k, v in lost.items()]
    return ", ".join(parts) if parts else "no decode errors, no gaps"


def _status_line(elapsed: float, status: StatusListener, service: Any, units: str) -> str:
    bridge, live = service.bridge, service.live
    state = bridge.state
    silent = bridge.silent_s
    if silent is not None:
        state = f"stalled: no data for {silent:.0f} s"
    parts = [f"{elapsed:7.1f} s", f"{status.frames} frames", state]
    block = status.last
    if block is not None and live is not None:
        last = type(block)(block.values[-1:], block.host_time[-1:], block.device_time[-1:],
                           block.seq[-1:], block.flags[-1:])
        names, forces, unit_list = live.forces(last, units)
        parts.append(" ".join(f"{n} {fmt_num(float(v))}" for n, v in zip(names, forces[0],
                                                                          strict=False))
                     + f" {unit_list[0] if unit_list else units}")
    c = bridge.counters
    parts.append(f"errors {c.undecodable + c.crc_errors + c.wrong_size} sequence gaps {c.seq_gaps} "
                 f"reconnects {c.reconnects} stalls {c.stalls}")
    return " | ".join(parts)
