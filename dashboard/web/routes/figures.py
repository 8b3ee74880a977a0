"""Figures of a stored session for the page and for slides: the pictures ``sotlog plot`` draws,
one mat frame at a time for the replay's heat map, and the one-page report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam

from dashboard.web.deps import SessionId, StoreDep
from dashboard.web.routes.sessions import Units, open_session
from firmware_bridge.errors import SotlogError
from firmware_bridge.frames import FrameBlock
from sensing.mat.live import live_payload
from sensing.outputs.exports import session_stem
from sensing.outputs.figurekinds import PAPERS
from sensing.outputs.figures import KINDS, FigureSpec, draw, frame_at
from sensing.plainjson import plain

router = APIRouter(prefix="/api", tags=["figures"])

# File type -> media type of the still pictures (sotlog plot's still suffixes).
STILL_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def _kinds() -> dict[str, Any]:
    return {name: kind for name, kind in KINDS.items() if ".png" in kind.suffixes}


@router.get("/sessions/{session_id}/figures")
def figure_kinds(session_id: SessionId, store: StoreDep) -> list[dict[str, Any]]:
    """The pictures this session has (force for every session; heatmap, mean, cop for a mat)."""
    with open_session(store, session_id) as s:
        is_mat = s.info.is_matrix
    return [{"kind": name, "help": kind.help, "types": list(STILL_TYPES)}
            for name, kind in _kinds().items() if is_mat or not kind.mat]


@router.get("/sessions/{session_id}/figures/{kind}.{ext}", response_class=Response,
            responses={200: {"content": {t: {} for t in STILL_TYPES.values()}}})
def figure(session_id: SessionId,
           kind: Annotated[str, PathParam(json_schema_extra={"enum": list(_kinds())})],
           ext: Annotated[str, PathParam(json_schema_extra={"enum": list(STILL_TYPES)})],
           store: StoreDep, units: Units = "N", download: bool = False) -> Response:
    """One picture as ``sotlog plot --kind KIND`` draws it, as png, svg or pdf."""
    kinds = _kinds()
    if kind not in kinds:
        raise SotlogError(f"figure kind must be one of {', '.join(kinds)}, not {kind!r}")
    if ext not in STILL_TYPES:
        raise SotlogError(f"figure type must be one of {', '.join(STILL_TYPES)}, not {ext!r}")
    with open_session(store, session_id) as s, tempfile.TemporaryDirectory() as tmp:
        name = f"session-{session_id}-{kind}.{ext}"
        path = draw(s, kind, FigureSpec(units=units), Path(tmp) / name)
        headers = {"Content-Disposition": f'attachment; filename="{name}"'} if download else {}
        return Response(Path(path).read_bytes(), media_type=STILL_TYPES[ext], headers=headers)


@router.get("/sessions/{session_id}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def report(session_id: SessionId, store: StoreDep, units: Units = "N",
           paper: Annotated[str, Query(json_schema_extra={"enum": list(PAPERS)},
                                       description="paper size")] = "a4") -> Response:
    """The session's one-page report as ``sotlog report`` writes it (docs/metrics.md)."""
    from sensing.outputs.report import write_report
    from sensing.outputs.reportdata import gather

    with open_session(store, session_id) as s, tempfile.TemporaryDirectory() as tmp:
        name = f"{session_stem(s)}_report.pdf"
        path = write_report(gather(s, units), Path(tmp) / name, paper)
        return Response(path.read_bytes(), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/sessions/{session_id}/mat")
def mat_frame(session_id: SessionId, store: StoreDep,
              t: Annotated[float, Query(ge=-1e6, le=1e7, description="session time, s")] = 0.0
              ) -> dict[str, Any]:
    """A mat session's frame at time ``t`` (the last one at or before it) for a heat map, with
    the session's block regions (sensing.mat.live_payload)."""
    with open_session(store, session_id) as s:
        matrix = s.info.profile.matrix
        if matrix is None:
            raise SotlogError(f"session {session_id} is a load-cell session: it has no mat frames")
        frame, at = frame_at(s, t)
        block = FrameBlock.build(frame[None], at + s.info.t0_host)
        payload = live_payload(block, matrix, s.mat_regions(), force_unit="N")
        return plain({**payload, "time_s": at})
