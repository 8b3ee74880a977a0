"""``sotlog show ID`` and ``sotlog reparse ID``: what was recorded, one session at a time."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from dashboard.cli.calibrate import add_check_args, channel_checks, print_checks
from dashboard.cli.common import (
    add_store_arg,
    add_units_arg,
    fmt_num,
    load_session,
    print_json,
    red,
    session_id,
    table,
)
from dashboard.cli.sessions import listed_dict
from firmware_bridge.frames import LEVEL_COUNTERS
from sensing.vocabulary import DETECTED_EVENT_KINDS


def register(sub: Any) -> None:
    p = sub.add_parser("show", help="a session's metadata, counters and per-channel figures",
                       description="Show a session: metadata, status, counters, events and, for "
                                   "each channel, unit, count, mean, min and max.")
    p.add_argument("id", type=session_id, help="session id (see `sotlog sessions`), or last")
    add_units_arg(p, "force unit")
    add_check_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_show)

    p = sub.add_parser("reparse", help="decode the raw bytes again and compare",
                       description="Decode a session's raw capture again with the profile it "
                                   "was recorded with, and report whether the samples come out "
                                   "identical. Exit status 1 if they differ.")
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_reparse)


def _info_dict(info: Any) -> dict[str, Any]:
    return {**listed_dict(info.listed()), "conversion": info.conversion}


def run_show(args: argparse.Namespace) -> int:
    from sensing.calibration.conversion import describe_zeros
    from sensing.metrics.measures import session_measures
    from sensing.metrics.summary import summarise

    session = load_session(args)
    info = session.info
    in_newtons = session.samples(units="N")  # read once: the checks work in N
    shown = in_newtons if args.units == "N" else session.samples(units=args.units)
    summary = summarise(shown, info.meta.body_weight_kg)
    measures = session_measures(session, args.units, shown)
    events = session.events()
    checks, findings = channel_checks(session, args, in_newtons)
    together = _on_blocks_together(summary, info.meta.body_weight_kg)
    if args.json:
        print_json({**_info_dict(info), "summary": summary.as_dict(), "checks": checks,
                    "zeros": describe_zeros(info.conversion, info.channel_names or ["total"]),
                    "warnings": [f.text for f in findings if f.warn],
                    "on_blocks_together": together, "measures": measures.as_dict(),
                    "events": [{"id": e.id, "time_s": e.time_s, "kind": e.kind, "text": e.text,
                                "source": e.source, "data": e.data} for e in events]})
        return 0
    m = info.meta
    print(f"session {info.id}  ({info.status})  {info.uuid}")
    if info.station is not None:  # a shared store's session
        print(f"  station     {info.station}")
    print(f"  started     {info.started_utc} UTC   ended {info.ended_utc or '-'}")
    print(f"  subject     {m.subject_code or '-'}   position {m.position or '-'}   "
          f"category {m.category or '-'}   short leg {m.short_leg or '-'}")
    if m.body_weight_kg:
        print(f"  body weight {m.body_weight_kg:g} kg")
    for b in m.blocks:
        angle = f" at {b.angle_deg:g} deg" if b.angle_deg is not None else ""
        chan = f" (channel {b.channel})" if b.channel else ""
        print(f"  block       {b.side} {b.landmark}{angle}{chan}")
    if m.note:
        print(f"  note        {m.note}")
    print(f"  device      {info.port}  profile {info.profile_name}  ({info.device})")
    print(f"  software    sotlog {info.software_version}")
    print(f"  duration    {fmt_num(summary.duration_s)} s, {summary.frames} frames, "
          f"{fmt_num(summary.measured_rate_hz, 2)} frames/s measured; "
          f"on the blocks {fmt_num(summary.time_on_blocks_s)} s")
    counters = "  ".join(_counter_text(k, v) for k, v in _flat(info.counters).items())
    print(f"  counters    {counters or '-'}")
    if info.decoded_nothing:
        print(red(f"  wire        {info.decoded_nothing}", sys.stdout))
    if info.end_reason:
        print(f"  ended       {info.status}: {info.end_reason}")
    for z in describe_zeros(info.conversion, info.channel_names or ["total"]):
        print(f"  zero        {z['text']}")
    rows = [[c.name, c.unit, str(c.count), fmt_num(c.mean), fmt_num(c.sd), fmt_num(c.min),
             fmt_num(c.max), fmt_num(c.share_pct), fmt_num(c.body_weight_pct)]
            for c in summary.channels]
    print()
    print(table(rows, ["CHANNEL", "UNIT", "COUNT", "MEAN", "SD", "MIN", "MAX", "SHARE %",
                       "% BODY WT"]))
    if together is not None:
        pct = (f" = {fmt_num(together['body_weight_pct'])} % of body weight"
               if together["body_weight_pct"] is not None else "")
        print(f"  on the blocks together (mean while loaded): "
              f"{fmt_num(together['loaded_mean'])} {together['unit']}{pct}")
    print()
    print("\n".join(measure_lines(measures)))
    print()
    if info.frame_shape and len(info.frame_shape) == 2:
        from sensing.metrics.matfacts import mat_fact_lines, mat_facts

        print()
        print("\n".join(mat_fact_lines(mat_facts(session, args.units))))
    print()
    print_checks(checks, findings, args.units)
    print()
    kinds = Counter(e.kind for e in events)
    print("events      " + ("  ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"))
    for e in events:
        found = e.source == "sotlog" and e.kind in DETECTED_EVENT_KINDS
        if found or e.source == "person" or e.kind in ("tare", "gap", "warning", "calibration"):
            text = f"  {e.text}" if e.text else ""
            by = f"  [found by sotlog: event {e.id}]" if found else ""
            print(f"  {fmt_num(e.time_s, 2):>9} s  {e.kind}{text}{by}")
    return 0


def measure_lines(measures: Any) -> list[str]:
    """The descriptive measures as ``sotlog show`` prints them: a table, and its windows."""
    from sensing.metrics.formulas import FORMULAS
    from sensing.metrics.measures import ON_BLOCKS, SESSION

    windows = measures.windows
    rows = [[label, name, unit, *(fmt_num(w[k].value, w[k].digits) if k in w else "-"
                                  for k in windows), formula]
            for label, name, unit, formula, w in measures.rows()]
    heads = {SESSION: "WHOLE SESSION", ON_BLOCKS: "ON THE BLOCKS"}
    lines = [f"measures    {measures.note}"]
    if rows:
        lines += ["  " + line for line in table(
            rows, ["OF", "MEASURE", "UNIT", *(heads[k] for k in windows), "FORMULA"]).split("\n")]
        lines.append(f"  symmetry index: {FORMULAS['symmetry']}; every formula: "
                     "docs/metrics.md, or --json")
    return lines


def _on_blocks_together(summary: Any, body_weight_kg: float | None) -> dict[str, Any] | None:
    """The blocks' summed loaded means (a mat: its total) in one force unit, as % body weight."""
    from sensing.metrics.onblocks import TOTAL

    chans = summary.channels
    picked = [c for c in chans if c.name == TOTAL] or [c for c in chans if c.name != TOTAL]
    units = {c.unit for c in picked}
    if not picked or len(units) != 1 or units & {"counts", "raw"}:
        return None
    mean = sum(c.loaded_mean for c in picked)
    pct = [c.body_weight_pct for c in picked]
    return {"loaded_mean": mean, "unit": units.pop(),
            "body_weight_pct": sum(pct) if body_weight_kg and None not in pct else None}


def _counter_text(name: str, value: Any) -> str:
    """One counter as ``show`` prints it. A session's held fields are the change of a level
    over the session (firmware_bridge.frames.Counters): a negative one says what it means."""
    if name in LEVEL_COUNTERS and isinstance(value, int) and value < 0:
        return f"{name} {value} ({-value} more held at the start than at the end)"
    return f"{name} {value}"


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def run_reparse(args: argparse.Namespace) -> int:
    from sensing.store.reparse import reparse

    result = reparse(load_session(args))
    if args.json:
        print_json(result.as_dict())
    else:
        print(f"session {args.id}: {result.detail}")
    return 0 if result.identical else 1
