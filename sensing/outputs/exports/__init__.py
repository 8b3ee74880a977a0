"""Exports by format name, one module each, chosen from a registry and imported lazily.

Every exporter writes to temporary names and renames when complete, so an interrupted export
never leaves a half-written file under the final name; if a session's export fails part way, the
files it had already finished are removed too, so a session is exported whole or not at all.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from firmware_bridge.errors import ExportError

if TYPE_CHECKING:
    from sensing.store.read import Session

# Bumped whenever any column, unit, file or sidecar key of an export changes (docs/data-format.md).
# 1.1: calibration.tare is a list of zero segments; zeros added. 2.0: BIDS and C3D rows on one
# regular grid; BIDS task- entity and dataset files; Parquet a long Hive-partitioned dataset.
# Measures in every sidecar (docs/metrics.md).
FORMAT_VERSION = "2.0"

# name -> (module, function, optional extra needed, one-line description)
FORMATS: dict[str, tuple[str, str, str | None, str]] = {
    "csv": ("sensing.outputs.exports.csv", "export", None, "CSV samples + JSON sidecar"),
    "bids": ("sensing.outputs.exports.bids", "export", None,
             "BIDS physio .tsv.gz + JSON sidecar + events .tsv (task-blocking)"),
    "parquet": ("sensing.outputs.exports.parquet", "export", "parquet",
                "a Hive-partitioned Parquet dataset: a row per frame and channel"),
    "hdf5": ("sensing.outputs.exports.hdf5", "export", "hdf5",
             "one HDF5 file: samples, events, metadata, raw mat frames"),
    "c3d": ("sensing.outputs.exports.c3d", "export", "c3d",
            "C3D: forces as analog channels, events as C3D events"),
}

_UMASK_LOCK = threading.Lock()


def process_umask() -> int:
    """This process's umask: exported files get the permissions any new file would (mkstemp
    makes them owner-only). Read from /proc where there is one, so it is never changed."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere the only way to read it is to set it and put it back
        mask = os.umask(0o022)
        os.umask(mask)
    return mask

# The files finished so far by the export under way in this context (see export_session).
_finished: ContextVar[list[Path] | None] = ContextVar("sotlog_export_finished", default=None)
# Whether the export under way may write over files that are there (``overwrite=True``).
_overwrite: ContextVar[bool] = ContextVar("sotlog_export_overwrite", default=False)


@contextmanager
def overwriting(allowed: bool) -> Iterator[None]:
    """Within the block, files already there are written over only when ``allowed``."""
    token = _overwrite.set(allowed)
    try:
        yield
    finally:
        _overwrite.reset(token)


class Exporter(Protocol):
    def __call__(self, session: Session, out_dir: Path, **options: Any) -> list[Path]: ...


def exporter(name: str) -> Exporter:
    """The export function registered as ``name``; a one-line error if unknown or not installed."""
    try:
        module_name, func, extra, _ = FORMATS[name]
    except KeyError:
        raise ExportError(
            f"unknown export format {name!r} (known: {', '.join(sorted(FORMATS))})"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        hint = f"; install it with: pip install 'sotlog[{extra}]'" if extra else ""
        raise ExportError(f"format {name!r} needs {err.name or err}{hint}") from err
    fn: Exporter = getattr(module, func)
    return fn


def export_session(session: Session, fmt: str, out_dir: str | Path, **options: Any) -> list[Path]:
    """Export one session in format ``fmt`` into ``out_dir``; returns the files written.

    Options every format takes: ``units`` ("N", "kgf", "lbf"), ``strip_notes`` (drop free text),
    ``shift_days`` (whole days added to every date; see sensing.outputs.exports.deid), and
    ``overwrite`` (write over files already there; without it such a file is an ExportError).
    """
    fn = exporter(fmt)
    if not str(out_dir).strip():
        raise ExportError("the output folder is empty: name one (. for this folder)")
    out = Path(out_dir)
    overwrite = bool(options.pop("overwrite", _overwrite.get()))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot create folder {out}: {err.strerror}") from err
    finished: list[Path] = []
    token = _finished.set(finished)
    try:
        with overwriting(overwrite):
            return fn(session, out, **options)
    except BaseException:
        for path in finished:  # the session is exported whole or not at all
            path.unlink(missing_ok=True)
        raise
    finally:
        _finished.reset(token)


def session_stem(session: Session) -> str:
    """File name stem for a session: ``session-<id>[_<subject>]``."""
    info = session.info
    stem = f"session-{info.id}"
    if info.meta.subject_code:
        stem += f"_{info.meta.subject_code}"
    return stem


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside ``final``, renamed onto it only when the block completes.

    A ``final`` already there is an ExportError unless the export may overwrite.
    """
    if final.exists() and not _overwrite.get():
        raise ExportError(f"{final} is already there: export into another folder, or write over "
                          "it with --force")
    final.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name keeps the final suffix: some writers (ezc3d) append theirs otherwise.
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".part{final.suffix}",
                               dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~process_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, final)
        finished = _finished.get()
        if finished is not None:
            finished.append(final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
