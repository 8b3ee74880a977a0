"""Exports: the formats sotlog writes, and one session downloaded in any of them."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from dashboard.web.deps import SessionId, StoreDep
from dashboard.web.routes.sessions import open_session
from firmware_bridge.errors import ExportError
from sensing.outputs.exports import FORMATS, export_session, exporter

router = APIRouter(prefix="/api", tags=["exports"])


@router.get("/exports")
def export_formats() -> list[dict[str, Any]]:
    """Every export format; ``available`` is false when its optional package is missing."""
    out = []
    for name, (_, _, extra, description) in FORMATS.items():
        try:
            exporter(name)
            missing = None
        except ExportError as err:
            missing = str(err)
        out.append({"name": name, "description": description, "extra": extra,
                    "available": missing is None, "missing": missing})
    return out


@router.get("/sessions/{session_id}/exports/{fmt}", response_class=FileResponse)
def export_download(session_id: SessionId,
                    fmt: Annotated[str, PathParam(json_schema_extra={"enum": sorted(FORMATS)})],
                    store: StoreDep) -> FileResponse:
    """One session in format ``fmt``: the file itself, or a .zip when the format writes several."""
    exporter(fmt)  # an unknown or unavailable format is a 400 before any work
    tmp = Path(tempfile.mkdtemp(prefix="sotlog-export-"))
    cleanup = BackgroundTask(shutil.rmtree, tmp, ignore_errors=True)
    try:
        with open_session(store, session_id) as s:
            files = export_session(s, fmt, tmp / "out")
        if not files:
            raise ExportError(f"format {fmt!r} wrote no file for session {session_id}")
        inside = [Path(f).relative_to(tmp / "out") for f in files]
        if len(files) == 1:
            path = Path(files[0])
            # A file inside a dataset's folders (Parquet's part-0.parquet) is named by its
            # session; a file named for its session keeps its own name.
            name = path.name if len(inside[0].parts) == 1 else \
                f"session-{session_id}_{fmt}{''.join(path.suffixes)}"
        else:
            path = tmp / f"session-{session_id}_{fmt}.zip"
            name = path.name
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                for f, rel in zip(files, inside, strict=True):
                    z.write(f, rel.as_posix())  # BIDS keeps its sub-/ses-/beh folders
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(path, filename=name, background=cleanup)
