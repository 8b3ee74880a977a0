"""``sotlog calibrate``, ``calibrations`` and ``recalibrate``: known loads to force, kept."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dashboard.cli.common import (
    add_store_arg,
    add_units_arg,
    fmt_num,
    load_session,
    positive,
    print_json,
    session_id,
    table,
)
from sensing.vocabulary import LOAD_UNITS

FITS = ("linear", "quadratic")  # the fits sensing.calibration.fit.FIT_DEGREES knows


def _weights(text: str) -> list[float]:
    try:
        return [float(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"weights must be numbers separated by commas, e.g. 0,5,10,20, not {text!r}") from None


def _ids(text: str) -> list[int]:
    try:
        ids = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"calibration ids are whole numbers (comma-separated), not {text!r}") from None
    if not ids or any(i < 1 for i in ids):
        raise argparse.ArgumentTypeError(f"calibration ids must be positive, not {text!r}")
    return ids


def add_calibration_arg(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--calibration", type=_ids, action="append", required=required,
                   metavar="CAL_ID", help="calibration id (see `sotlog calibrations`); the other "
                   "channels calibrated in the same run come along; repeat or comma-separate")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate", help="calibrate a device with known weights",
        description="Walk through placing known weights on each block (or the mat), wait for a "
                    "steady reading at each, fit counts to newtons per channel and store the "
                    "calibration. Later recordings with the same profile use the newest one. "
                    "See docs/calibration.md.")
    p.add_argument("--port", required=True, metavar="URL", help="pyserial URL of the device")
    p.add_argument("--profile", required=True, metavar="NAME_OR_PATH", help="device profile")
    p.add_argument("--weights", type=_weights, default=[0.0, 5.0, 10.0, 20.0], metavar="LIST",
                   help="known loads in order, comma-separated (default 0,5,10,20; at least "
                        "two, more are better)")
    p.add_argument("--unit", choices=list(LOAD_UNITS), default="kg", help="unit of --weights")
    p.add_argument("--fit", choices=FITS, default="linear", help="counts -> force curve")
    p.add_argument("--by", default="", metavar="NAME_OR_INITIALS", help="who calibrated")
    p.add_argument("--channel", action="append", default=[], metavar="NAME",
                   help="calibrate only this channel (repeat); default every channel")
    p.add_argument("--mat", choices=("total", "equilibrate"), default="total",
                   help="mats: 'equilibrate' evens out the sensels under an even load; 'total' "
                        "(default) fits known loads against the equilibrated total")
    p.add_argument("--equilibration", type=int, metavar="CAL_ID",
                   help="mats: the equilibration to weight sensels by (default the newest)")
    p.add_argument("--yes", "--no-prompt", dest="yes", action="store_true",
                   help="do not prompt: the loads arrive on their own in the order given (a "
                        "scripted rig, or sim://loadcells?load=steps:...); each point is taken "
                        "once the reading has moved to a new steady level")
    p.add_argument("--window", type=positive, default=1.0, metavar="S",
                   help="seconds of steady reading per point (default 1)")
    p.add_argument("--settle-sd", type=float, default=0.0, metavar="RAW",
                   help="accept a window whose SD is at most this many raw units even if the "
                        "noise estimate is smaller (for sensors with slow noise)")
    p.add_argument("--timeout", type=positive, default=60.0, metavar="S",
                   help="wall seconds to wait for each steady point (default 60)")
    add_units_arg(p, "unit of residuals shown")
    p.add_argument("--note", default="", metavar="TEXT", help="a note kept with the record")
    p.add_argument("--json", action="store_true", help="print the stored records as JSON")
    add_store_arg(p)
    p.set_defaults(func=run_calibrate)

    p = sub.add_parser("calibrations", help="list stored calibrations, newest first",
                       description="List the calibrations in the store, newest first.")
    p.add_argument("--profile", metavar="NAME", help="only this profile")
    p.add_argument("--channel", metavar="NAME", help="only this channel")
    p.add_argument("--json", action="store_true", help="print JSON (every point and residual)")
    add_store_arg(p)
    p.set_defaults(func=run_calibrations)

    p = sub.add_parser(
        "recalibrate", help="re-express a session with another calibration",
        description="Use another calibration for a recorded session. Raw samples are not "
                    "touched: only the session's conversion changes, and the change is logged "
                    "in its edits and as a calibration event. Channels not named keep theirs.")
    p.add_argument("id", type=session_id, help="session id, or last")
    add_calibration_arg(p, required=True)
    add_units_arg(p, "unit of the figures shown")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_recalibrate)


class TerminalGuide:
    """Prompts on the terminal and waits for Enter; or, scripted, only tells."""

    def __init__(self, scripted: bool) -> None:
        self.scripted = scripted

    def ask(self, text: str) -> None:
        from firmware_bridge.errors import CalibrationError

        print(text, end=" ", file=sys.stderr, flush=True)
        if not sys.stdin.readline():
            raise CalibrationError("input ended before every weight was placed; nothing stored")

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def run_calibrate(args: argparse.Namespace) -> int:
    from firmware_bridge.bridge import Bridge
    from firmware_bridge.ports import describe_port
    from firmware_bridge.profiles import load_profile
    from sensing.calibration.capture import FrameTap, SettleRule
    from sensing.calibration.procedures import (
        RunSpec,
        calibrate_loadcells,
        calibrate_mat_total,
        check_weights,
        equilibrate_mat,
    )
    from sensing.store.calibrations import CalibrationStore
    from sensing.store.sessions import Store

    profile = load_profile(args.profile)
    mode = "cells" if not profile.is_matrix else args.mat
    weights = args.weights if mode == "equilibrate" else check_weights(args.weights, args.fit)
    cals = CalibrationStore(Store.open(args.store))
    equilibration = None
    if mode == "total":
        equilibration = (cals.get(args.equilibration) if args.equilibration
                         else cals.latest_equilibration(profile.name))
    spec = RunSpec(profile=profile, port=args.port, device=describe_port(args.port),
                   weights=weights, unit=args.unit, fit=args.fit, by=args.by,
                   rule=SettleRule(window_s=args.window, sd_floor=args.settle_sd),
                   timeout=args.timeout, channels=args.channel or profile.channel_names)
    guide = TerminalGuide(args.yes)
    bridge = Bridge(args.port, profile)
    bridge.open_once()
    tap = FrameTap()
    bridge.add_listener(tap)
    bridge.start()
    try:
        if mode == "cells":
            records = calibrate_loadcells(tap, spec, guide)
        elif mode == "equilibrate":
            records = [equilibrate_mat(tap, spec, guide)]
        else:
            records = [calibrate_mat_total(tap, spec, guide, equilibration)]
    finally:
        bridge.stop()
    for cal in records:
        cal.note = args.note
    cals.add(records)
    if args.json:
        print_json([c.record() for c in records])
        return 0
    for cal in records:
        print_record(cal, args.units)
    print(" ".join(str(c.id) for c in records))
    return 0


def print_record(cal: Any, units: str) -> None:
    """A calibration's points, residuals and fit, for the person who just made it."""
    from sensing.vocabulary import OUTPUT_UNITS as PER

    per = PER[units]
    print(f"calibration {cal.id}: {cal.channel} ({cal.kind}, {cal.profile_name}) "
          f"{cal.created_utc} by {cal.by or '-'}", file=sys.stderr)
    if cal.fit is None:
        print(f"  {cal.note}", file=sys.stderr)
        return
    f = cal.fit
    rows = [[f"{p.load:g} {cal.unit}", fmt_num(p.load_n / per, 2), fmt_num(p.raw_mean, 0),
             fmt_num(p.raw_sd, 0), str(p.n), fmt_num(r / per, 3)]
            for p, r in zip(cal.points, f.residuals_n, strict=True)]
    print(table(rows, ["LOAD", f"KNOWN {units}", "RAW MEAN", "RAW SD", "N",
                       f"RESIDUAL {units}"]), file=sys.stderr)
    gain = f.coef[1] if len(f.coef) > 1 else float("nan")
    curve = " + ".join(f"{c:.6g}*x^{k}" for k, c in enumerate(f.coef) if k)
    print(f"  fit {f.fit}: force N = {curve}, x = raw - {f.zero_raw:.1f} (zero); "
          f"{gain:.6g} N per count at zero", file=sys.stderr)
    print(f"  residuals rms {f.rms_residual_n / per:.3g} {units}, largest "
          f"{f.max_residual_pct_fs:.3f} % of full scale ({f.full_scale_n / per:.4g} {units}); "
          f"non-linearity {f.nonlinearity_pct_fs:.3f} % FS", file=sys.stderr)


def run_calibrations(args: argparse.Namespace) -> int:
    from sensing.store.calibrations import CalibrationStore
    from sensing.store.sessions import Store

    found = CalibrationStore(Store.open(args.store)).all(args.profile, args.channel)
    if args.json:
        print_json([c.record() for c in found])
        return 0
    if not found:
        print("no calibrations stored yet (make one with `sotlog calibrate`)")
        return 0
    rows = []
    for c in found:
        f = c.fit
        rows.append([str(c.id), str(c.batch), c.created_utc[:19].replace("T", " "), c.profile_name,
                     c.channel, c.kind, f.fit if f else "-", str(len(c.points)),
                     fmt_num(f.rms_residual_n, 3) if f else "-",
                     fmt_num(f.nonlinearity_pct_fs, 3) if f else "-", c.by or "-"])
    print(table(rows, ["ID", "RUN", "CREATED (UTC)", "PROFILE", "CHANNEL", "KIND", "FIT",
                       "POINTS", "RMS RESID N", "NONLIN %FS", "BY"]))
    return 0


def run_recalibrate(args: argparse.Namespace) -> int:
    from sensing.recording.revise import recalibrate
    from sensing.store.sessions import Store

    session = load_session(args)
    info = session.info
    store = Store.open(args.store)
    before = session.samples(units=args.units)
    done = recalibrate(store, info.id, [i for group in args.calibration for i in group])
    for text in done.warnings:
        print(f"sotlog: warning: {text}", file=sys.stderr)
    old_ids, new_ids = done.old_ids, done.new_ids
    after = store.session(info.id).samples(units=args.units)
    rows = []
    for j, name in enumerate(after.names):
        b = float(before.values[:, j].mean()) if len(before.time_s) else float("nan")
        a = float(after.values[:, j].mean()) if len(after.time_s) else float("nan")
        rows.append({"channel": name, "unit_before": before.units[j], "mean_before": b,
                     "unit_after": after.units[j], "mean_after": a})
    if args.json:
        print_json({"id": info.id, "old_calibration_ids": old_ids,
                    "new_calibration_ids": new_ids, "channels": rows})
        return 0
    print(f"session {info.id}: calibration {', '.join(map(str, old_ids)) or 'none'} -> "
          f"{', '.join(map(str, new_ids))}; raw samples unchanged")
    print(table([[r["channel"], f"{fmt_num(r['mean_before'], 2)} {r['unit_before']}",
                  f"{fmt_num(r['mean_after'], 2)} {r['unit_after']}"] for r in rows],
                ["CHANNEL", "MEAN BEFORE", "MEAN AFTER"]))
    return 0


def add_check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-cal-age-days", type=positive, metavar="DAYS",
                   help="warn when the calibration was older at the session's start (default "
                        "$SOTLOG_CAL_MAX_AGE_DAYS, else 30)")
    p.add_argument("--drift-max", type=positive, metavar="N",
                   help="warn when an unloaded reading is further than this many newtons from "
                        "zero (default $SOTLOG_DRIFT_MAX_N, else 5)")


def channel_checks(session: Any, args: argparse.Namespace, samples: Any = None
                   ) -> tuple[list[dict[str, Any]], list[Any]]:
    """Per channel: zero, calibration, drift and saturation; and every finding.

    ``samples`` are the session's samples in N, when the caller has read them already.
    """
    from sensing.calibration.conversion import zero_segments
    from sensing.metrics.checks import session_checks

    info = session.info
    findings = session_checks(session, limit_days=getattr(args, "max_cal_age_days", None),
                              limit_n=getattr(args, "drift_max", None), samples=samples)
    conv = info.conversion or {}
    segments = zero_segments(conv)
    tares = (segments[-1].get("offsets") or {}) if segments else {}
    cals = (conv.get("calibration") or {}).get("channels") or {}
    by_channel: dict[str, dict[str, Any]] = {}
    for f in findings:
        row = by_channel.setdefault(f.channel, {"channel": f.channel})
        row[f.check] = f.data
    for name, spec in cals.items():
        by_channel.setdefault(name, {"channel": name})["calibration"] = {
            k: spec.get(k) for k in ("id", "fit", "created_utc", "by", "rms_residual_n",
                                     "nonlinearity_pct_fs")}
    for name, row in by_channel.items():
        tared = name in tares or (info.is_matrix and "total" in tares)
        row["zero"] = "tare" if tared else "calibration" if name in cals else "profile"
        if name in tares:
            row["tare_raw"] = tares[name]
            row["zero_segments"] = len(segments)
    return list(by_channel.values()), findings


def print_checks(rows: list[dict[str, Any]], findings: list[Any], units: str) -> None:
    """The per-channel checks table of ``sotlog show`` and the warnings under it."""
    from sensing.vocabulary import OUTPUT_UNITS as PER

    def force(d: dict[str, Any] | None, key: str) -> str:
        if not d or d.get(key) is None:
            return "-"
        value = float(d[key])
        if d.get("unit") == "N":
            return f"{value / PER[units]:+.2f}"
        return f"{value:+.1f} {d.get('unit')}"

    table_rows = []
    for r in rows:
        cal = r.get("calibration")
        age = r.get("calibration_age", {}).get("age_days")
        drift = r.get("zero_drift")
        sat = r.get("saturation")
        table_rows.append([
            r["channel"], r["zero"],
            f"{cal['id']} ({cal['fit']}, {fmt_num(age, 0)} d, nonlin "
            f"{fmt_num(cal['nonlinearity_pct_fs'], 3)} %FS)" if cal else "none",
            force(drift, "start") if drift and drift.get("has_zero") else "-",
            force(drift, "end") if drift and drift.get("has_zero") else "-",
            force(drift, "shift"),
            str(sat["frames"]) if sat else "-"])
    print(table(table_rows, ["CHANNEL", "ZERO", "CALIBRATION", f"ZERO BEFORE {units}",
                             f"ZERO AFTER {units}", f"SHIFT {units}", "SATURATED FRAMES"]))
    for f in findings:
        if f.warn:
            print(f"  warning: {f.text}")
