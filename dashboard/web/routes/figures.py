"""Figures of a stored session for the page and for slides: the pictures ``sotlog plot`` draws,
a mat session's frames for the replay's heat map, the one colour map of mat pictures, and the
one-page report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from dashboard.web.deps import SessionId, StoreDep
from dashboard.web.matview import picture, picture_box, picture_facts, stored_box
from dashboard.web.replaywire import MAX_FRAMES, MAX_SPAN_S, replay_frames
from dashboard.web.routes.sessions import Units, open_session
from firmware_bridge.errors import SotlogError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import Matrix
from sensing.mat.live import live_frame
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


def _matrix(s: Any) -> Matrix:
    matrix: Matrix | None = s.info.profile.matrix
    if matrix is None:
        raise SotlogError(f"session {s.info.id} is a load-cell session: it has no mat frames")
    return matrix


@router.get("/sessions/{session_id}/mat")
def mat_frame(session_id: SessionId, store: StoreDep,
              t: Annotated[float, Query(ge=-1e6, le=1e7, description="session time, s")] = 0.0
              ) -> dict[str, Any]:
    """A mat session's frame at time ``t`` (the last one at or before it) for a heat map, with
    the session's block regions (sensing.mat.live_frame), head up as every mat picture
    (``values`` row by row of the picture, null where a sensel is missing)."""
    with open_session(store, session_id) as s:
        matrix = _matrix(s)
        frame, at = frame_at(s, t)
        block = FrameBlock.build(frame[None], at + s.info.t0_host)
        facts, image = live_frame(block, matrix, s.mat_regions(), force_unit="N")
        shown = picture(image, matrix)
        values = [None if not np.isfinite(v) else round(float(v)) for v in shown.ravel()]
        return plain({**picture_facts(facts, matrix), "values": values, "time_s": at})


@router.get("/sessions/{session_id}/mat/frames", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def mat_frames(session_id: SessionId, store: StoreDep,
               t0: Annotated[float, Query(ge=-1e6, le=1e7, description="from, s")] = 0.0,
               t1: Annotated[float, Query(ge=-1e6, le=1e7, description="until, s")] = 10.0
               ) -> Response:
    """Every frame of a mat session with ``t0 <= time_s < t1`` (at most 120 s, 6000 frames),
    for the replay's heat map at the recorded rate: one binary body (docs/dashboard.md,
    *Mat frames for the replay*), each sensel as one byte of its place in the sensor's range."""
    if not 0 < t1 - t0 <= MAX_SPAN_S:
        raise SotlogError(f"ask for frames over more than 0 s and at most {MAX_SPAN_S:g} s, "
                          f"not {t1 - t0:g} s")
    with open_session(store, session_id) as s:
        matrix = _matrix(s)
        block = s.frames(t0, t1)
        if len(block) > MAX_FRAMES:
            raise SotlogError(f"{len(block)} frames from {t0:g} s to {t1:g} s: ask for at most "
                              f"{MAX_FRAMES} at a time (a shorter span)")
        regions = [r.as_dict() for r in s.mat_regions()]
        body = replay_frames(block, matrix, regions, s.info.t0_host)
    return Response(body, media_type="application/octet-stream")


@router.get("/colourmap")
def colourmap() -> dict[str, Any]:
    """The one colour map of every mat picture (``sensing.outputs.matfigures.CMAP``), as 256
    RGB colours from its low end to its high end, for the pages' heat maps."""
    from matplotlib import colormaps  # slow to import: only when a page asks

    from sensing.outputs.matfigures import CMAP

    colours = (colormaps[CMAP].resampled(256)(np.arange(256))[:, :3] * 255).round()
    return {"name": CMAP, "colours": colours.astype(int).tolist()}


class RegionIn(BaseModel):
    """One block region as drawn on the session page's heat map: whole sensels of the picture
    (head up), ends exclusive."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=r"^[A-Za-z][\w.-]{0,31}$")]
    r0: Annotated[int, Field(ge=0, le=10_000)]
    r1: Annotated[int, Field(ge=1, le=10_000)]
    c0: Annotated[int, Field(ge=0, le=10_000)]
    c1: Annotated[int, Field(ge=1, le=10_000)]


class RegionsIn(BaseModel):
    """The regions a person set; none (null or empty): find them on the data again."""

    model_config = ConfigDict(extra="forbid")
    regions: list[RegionIn] | None = None


@router.put("/sessions/{session_id}/regions")
def set_regions(session_id: SessionId, body: RegionsIn, store: StoreDep) -> dict[str, Any]:
    """Keep a mat session's block regions as a person set them on its heat map (as ``sotlog
    regions --set`` does, through the edit log, so it can be undone), or forget them so they
    are found on the data again. The regions the session is read with now, in the picture."""
    with open_session(store, session_id) as s:
        matrix = _matrix(s)
    regions = [{**stored_box(r.model_dump(), matrix), "source": "person"}
               for r in body.regions or ()]
    store.set_mat_regions(session_id, regions or None)
    with open_session(store, session_id) as s:
        return {"regions": [picture_box(r.as_dict(), matrix) for r in s.mat_regions()]}
