"""What the one-page report says, gathered from a stored session: header, measures, data quality.

``report.py`` lays it out; everything it prints is read here once. The clinic name and the
practitioner's initials come from an optional TOML file (``report_config``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_bridge.errors import SotlogError
from firmware_bridge.words import COUNTER_LABELS, PROBLEM_COUNTERS
from sensing.calibration.conversion import describe_zeros
from sensing.metrics.checks import calibration_age, zero_drift
from sensing.metrics.measures import SessionMeasures, session_measures

if TYPE_CHECKING:
    from sensing.store.read import Samples, Session
    from sensing.store.records import Event

CONFIG_ENV = "SOTLOG_REPORT_CONFIG"
CONFIG_KEYS = ("clinic", "practitioner")


def config_path() -> Path:
    """``$SOTLOG_REPORT_CONFIG``, else ``report.toml`` in the user config folder."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    import platformdirs

    return Path(platformdirs.user_config_dir("sotlog")) / "report.toml"


def report_config(path: Path | None = None) -> dict[str, str]:
    """Clinic name and practitioner initials; a file that is not there gives none."""
    p = config_path() if path is None else path
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if path is not None or os.environ.get(CONFIG_ENV):
            raise SotlogError(f"report config {p} is not there") from None
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SotlogError(f"report config {p} cannot be read: {err}") from err
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise SotlogError(f"report config {p}: unknown key {unknown[0]!r} (known: "
                          f"{', '.join(CONFIG_KEYS)})")
    for k, v in data.items():
        if not isinstance(v, str):
            raise SotlogError(f"report config {p}: {k} must be text, not {v!r}")
    return {k: str(v) for k, v in data.items()}


@dataclass
class ReportData:
    """Everything one report prints."""

    session: Session
    samples: Samples  # force in ``units``
    units: str
    measures: SessionMeasures
    events: list[Event]
    quality: list[tuple[str, str]]  # (what, text) lines of the data-quality box
    config: dict[str, str] = field(default_factory=dict)


def _calibration_lines(session: Session) -> list[str]:
    info = session.info
    cal = (info.conversion.get("calibration") or {}).get("channels") or {}
    if not cal:
        return ["none: force from the profile's scale and offset"]
    ages = {f.channel: f.data["age_days"] for f in calibration_age(info.conversion,
                                                                  info.started_utc)}
    out = []
    for name, spec in cal.items():
        parts = [f"{name}: calibration {spec.get('id')} ({spec.get('fit', '?')} fit"]
        if spec.get("created_utc"):
            parts.append(f", made {str(spec['created_utc'])[:10]}")
        if name in ages:
            parts.append(f", {ages[name]:.0f} days before the session")
        parts.append(")")
        if spec.get("rms_residual_n") is not None:
            parts.append(f", RMS residual {spec['rms_residual_n']:.2f} N over "
                         f"{spec.get('points', '?')} points")
        out.append("".join(parts))
    return out


def _gap_line(events: list[Event], measures: SessionMeasures) -> str:
    gaps = [e for e in events if e.kind == "gap"]
    seconds = sum(float(e.data.get("duration_s") or 0.0) for e in gaps)
    step = measures.unbridged.get("session", {"steps": 0, "seconds": 0.0})
    text = (f"{len(gaps)} marked by the device link ({seconds:.1f} s in all)" if gaps
            else "none marked by the device link")
    n = int(step["steps"])
    return (f"{text}; {n} step{'' if n == 1 else 's'} over 1 s between frames "
            f"({step['seconds']:.1f} s), never bridged by an integral or path")


def _decode_line(counters: dict[str, Any]) -> str:
    parts = [f"{COUNTER_LABELS[k]} {counters.get(k, 0)}" for k in PROBLEM_COUNTERS
             if k in ("undecodable", "crc_errors", "seq_gaps", "wrong_size", "out_of_range")]
    return " · ".join(parts)


def _drift_lines(session: Session, in_newtons: Samples) -> list[str]:
    out = []
    for f in zero_drift(session, samples=in_newtons):
        d = f.data

        def signed(x: float | None, unit: str = d["unit"]) -> str:
            return "-" if x is None else f"{x:+.2f} {unit}"

        if d["start"] is None and d["end"] is None:
            out.append(f"{f.channel}: no unloaded readings before or after the load")
            continue
        out.append(f"{f.channel}: before loading {signed(d['start'])}, after unloading "
                   f"{signed(d['end'])}, shift {signed(d.get('shift'))}")
    return ["; ".join(out)] if out else ["too few frames to say"]


def gather(session: Session, units: str = "N", config: dict[str, str] | None = None) -> ReportData:
    """Read what the report of ``session`` prints, force in ``units``."""
    info = session.info
    in_newtons = session.samples(units="N")  # a mat's: its block sums, derived at close
    samples = in_newtons if units == "N" else session.samples(units=units)
    measures = session_measures(session, units, samples)
    events = session.events()
    zeros = describe_zeros(info.conversion, info.channel_names or ["total"])
    tares = [z["text"] for z in zeros]
    quality = [
        *(("calibration", line) for line in _calibration_lines(session)),
        *(("zero", line) for line in tares),
        ("gaps", _gap_line(events, measures)),
        ("decode errors", _decode_line(info.counters)),
        *(("zero drift", line) for line in _drift_lines(session, in_newtons)),
    ]
    return ReportData(session, samples, units, measures, events, quality,
                      report_config() if config is None else config)
