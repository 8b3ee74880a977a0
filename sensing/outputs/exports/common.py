"""What every export format shares: the columns, the events, the JSON sidecar, text tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

import firmware_bridge
from sensing.calibration.conversion import describe_zeros
from sensing.metrics.measures import session_measures
from sensing.metrics.summary import measured_rate
from sensing.outputs.exports import FORMAT_VERSION
from sensing.outputs.exports.deid import deidentify_port, shift_dates, subject_label
from sensing.outputs.exports.grid import Grid, grid

if TYPE_CHECKING:
    from firmware_bridge.frames import FrameBlock
    from sensing.store.read import Samples, Session

TIME_BASE = ("time_s: seconds since the session start on the host monotonic clock, stamped when "
             "the frame's last byte arrived, i.e. host monotonic time minus session.t0_host; "
             "session.started_utc is the UTC wall-clock time at t0_host; device_time_s: the "
             "device's own clock in seconds (missing when the device sends none)")
# How the host clock of t0_host relates to Lab Streaming Layer time (sensing/outputs/lsl.py).
HOST_CLOCK = ("Python time.monotonic(), the clock pylsl.local_clock() reads on Linux and "
              "Windows; a row at session time time_s is at LSL/XDF time t0_host + time_s + "
              "host_clock_offset (in the session's LSL stream description)")
ROWS_PER_CHUNK = 65536  # rows formatted per text chunk: bounded memory, few Python calls


@dataclass
class Column:
    """One exported column: name, unit, description, values, and how text formats write it."""

    name: str
    unit: str
    description: str
    values: np.ndarray
    text_format: str = "%r"  # %r is Python's shortest exact form of a float

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "unit": self.unit, "description": self.description}


@dataclass
class ExportData:
    """Everything one export writes, read once from the session and de-identified as asked."""

    session: Session
    samples: Samples
    frames: FrameBlock  # as stored: host and device time, seq, flags; raw values of load cells
    columns: list[Column]
    events: list[dict[str, Any]]
    meta: dict[str, Any]  # the sidecar: every format carries it
    rate_hz: float | None
    rate_source: str
    grid: Grid  # rows on one regular grid, for the formats that state one rate

    @property
    def force_columns(self) -> list[Column]:
        return [c for c in self.columns if c.name in self.meta["force_columns"]]


def force_column(name: str, unit: str) -> str:
    """Column name for a channel in ``unit``: ``left_N``, ``total_kgf``."""
    return f"{name}_{unit}"


def _columns(session: Session, samples: Samples, frames: FrameBlock) -> list[Column]:
    cols = [
        Column("time_s", "s", "seconds since the session start (host monotonic clock)",
               samples.time_s),
        Column("device_time_s", "s", "device clock, missing when the device sends none",
               samples.device_time_s),
        Column("seq", "1", "device sequence number, -1 when the protocol has none", frames.seq,
               "%d"),
        Column("flags", "1", "frame flags: 1 = a value outside the raw range, 2 = first frame "
               "after a gap", frames.flags, "%d"),
    ]
    cols += [Column(force_column(n, u), u, f"channel {n}", samples.values[:, j], "%.9g")
             for j, (n, u) in enumerate(zip(samples.names, samples.units, strict=True))]
    if len(session.info.frame_shape) == 1:
        taken = {c.name for c in cols}
        for j, n in enumerate(session.info.channel_names):
            # A channel whose own unit is "raw" already has a <name>_raw column.
            name = f"{n}_raw" if f"{n}_raw" not in taken else f"{n}_device_raw"
            # float64 whatever the device's integer type: one documented type for every device
            cols.append(Column(name, "raw", f"channel {n} as the device sent it",
                               frames.values[:, j].astype(np.float64)))
    return cols


def export_events(session: Session, strip_notes: bool) -> list[dict[str, Any]]:
    """Every event as plain data; ``strip_notes`` empties the free text of each."""
    return [
        {"time_s": ev.time_s, "kind": ev.kind, "source": ev.source,
         "text": "" if strip_notes else ev.text, "data": ev.data, "created_utc": ev.created_utc}
        for ev in session.events()
    ]


def prepare(session: Session, fmt: str, *, units: str = "N", strip_notes: bool = False,
            shift_days: int = 0) -> ExportData:
    """Read a session once for export: columns, events and the sidecar, de-identified as asked."""
    samples = session.samples(units=units)
    # a mat's frames are read window by window by the formats that write them (hdf5)
    frames = session.frame_columns() if session.info.is_matrix else session.frames()
    columns = _columns(session, samples, frames)
    events = export_events(session, strip_notes)
    rows = grid(samples.time_s, samples.device_time_s, frames.seq, frames.flags,
                session.info.profile.nominal_rate_hz)
    meta = sidecar(session, samples, fmt, strip_notes=strip_notes,
                   columns=[c.describe() for c in columns], events=events, units=units)
    meta["rate_hz"], meta["rate_source"] = rows.rate_hz, rows.rate_source
    meta["force_columns"] = [force_column(n, u)
                             for n, u in zip(samples.names, samples.units, strict=True)]
    meta["deidentification"]["dates_shifted"] = bool(shift_days)
    kept = {k: meta["session"][k] for k in ("subject_code", "uuid")}
    meta = shift_dates(meta, shift_days)
    meta["session"] |= kept  # a code or a uuid that holds digits like a date is no date
    return ExportData(session, samples, frames, columns, meta["events"], meta, rows.rate_hz,
                      rows.rate_source, rows)


def on_grid(data: ExportData) -> list[Column]:
    """The columns with one row per grid row: NaN where no frame arrived (module grid)."""
    return [Column(c.name, c.unit, c.description, data.grid.spread(c.values),
                   "%.17g" if c.text_format == "%d" else c.text_format) for c in data.columns]


def grid_meta(g: Grid) -> dict[str, Any]:
    """The sidecar's ``grid``: how the rows of a one-rate format were placed."""
    return {"rate_hz": g.rate_hz, "rate_source": g.rate_source, "start_s": g.start_s,
            "rows": g.n_rows, "empty_rows": g.empty_rows, "clock": g.clock,
            "gaps": [{"first_row": r, "rows": n, "time_s": g.row_time(r)} for r, n in g.gaps]}


def mat_regions(session: Session) -> list[dict[str, Any]] | None:
    """A mat's block regions: rows and columns (end excluded) and who drew them; None for load
    cells."""
    if not session.info.is_matrix:
        return None
    return [r.as_dict() for r in session.mat_regions()]


def sidecar(session: Session, samples: Samples, fmt: str, *, strip_notes: bool = False,
            columns: list[dict[str, Any]] | None = None,
            events: list[dict[str, Any]] | None = None, units: str = "N") -> dict[str, Any]:
    """The metadata that travels with every export: units, rates, profile, calibration, events,
    and the descriptive measures (in force unit ``units``, as ``samples`` are)."""
    info = session.info
    meta = info.meta.as_dict()
    if strip_notes:
        meta["note"] = ""
    return {
        "format": fmt,
        "format_version": FORMAT_VERSION,
        "software": f"sotlog {firmware_bridge.__version__}",
        "session": {
            "id": info.id, "uuid": info.uuid, "status": info.status,
            "started_utc": info.started_utc, "ended_utc": info.ended_utc,
            "t0_host": info.t0_host, "host_clock": HOST_CLOCK,
            "duration_s": info.duration_s, "subject_label": subject_label(meta["subject_code"]),
            **meta,
        },
        "columns": columns or [],
        "channels": [{"name": n, "unit": u} for n, u in zip(samples.names, samples.units,
                                                          strict=True)],
        "frame_shape": list(info.frame_shape),
        "mat_regions": mat_regions(session),
        "nominal_rate_hz": info.profile.nominal_rate_hz,
        "measured_rate_hz": measured_rate(samples.time_s),
        "frames": int(samples.time_s.size),
        # An imported file's folders say whose computer it was on: only its name is exported.
        "device": {"port": deidentify_port(info.port), "description": info.device},
        "profile": {"name": info.profile_name, "toml": info.profile.source},
        "calibration": info.conversion,
        "zeros": describe_zeros(info.conversion, info.channel_names or ["total"]),
        "counters": info.counters,
        "events": events if events is not None else export_events(session, strip_notes),
        "measures": session_measures(session, units, samples).as_dict(),
        "deidentification": {"notes_stripped": strip_notes, "dates_shifted": False},
        "time_base": TIME_BASE,
    }


def text_rows(columns: list[Column], sep: str, missing: str) -> Iterator[str]:
    """The columns as delimited text rows, a chunk of rows per string; NaN written as ``missing``.

    Each chunk is one ``%`` formatting call over a flat tuple, not a Python loop per value.
    """
    n = int(columns[0].values.shape[0]) if columns else 0
    row = sep.join(c.text_format for c in columns) + "\n"
    for start in range(0, n, ROWS_PER_CHUNK):
        stop = min(n, start + ROWS_PER_CHUNK)
        grid = np.empty((stop - start, len(columns)), dtype=object)
        for j, c in enumerate(columns):
            grid[:, j] = c.values[start:stop].tolist()
        text = (row * (stop - start)) % tuple(grid.ravel().tolist())
        # Only a NaN formats as "nan": numbers never contain those letters.
        yield text.replace("nan", missing) if missing != "nan" else text


def write_table(fh: TextIO, columns: list[Column], sep: str, missing: str) -> None:
    """Write ``columns`` as delimited text rows to an open text file."""
    for chunk in text_rows(columns, sep, missing):
        fh.write(chunk)
