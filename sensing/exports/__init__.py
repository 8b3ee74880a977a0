"""Exports by format name, one module each, chosen from a registry and imported lazily.

Every exporter writes to temporary names and renames when complete, so an interrupted export
never leaves a half-written file under the final name.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from firmware_bridge.errors import ExportError

if TYPE_CHECKING:
    from sensing.session import Session

# Bumped whenever any column, unit or sidecar key of an export changes (docs/data-format.md).
FORMAT_VERSION = "1.0"

# name -> (module, function, optional extra needed, one-line description)
FORMATS: dict[str, tuple[str, str, str | None, str]] = {
    "csv": ("sensing.exports.csv", "export", None, "CSV samples + JSON sidecar"),
}


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
    """Export one session in format ``fmt`` into ``out_dir``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return exporter(fmt)(session, out, **options)


def session_stem(session: Session) -> str:
    """File name stem for a session: ``session-<id>[_<subject>]``."""
    info = session.info
    stem = f"session-{info.id}"
    if info.meta.subject_code:
        stem += f"_{info.meta.subject_code}"
    return stem


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside ``final``, renamed onto it only when the block completes."""
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
