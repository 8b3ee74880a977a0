"""A subject's visits: what a visit list shows of each session, worked out once and kept.

For each ended session: its time on the blocks, and per block (each channel but a mat's whole
``total``) the mean force while on the blocks and its share of the blocks' sum, in N, as the
session's summary gives them (``sensing.metrics.summary``: the on-the-blocks rule of
``sensing.metrics.onblocks``). Kept in the session's row (``visit_json``) when it ends, so
``sotlog sessions --subject`` and the sessions page read SQL only; an edit of the conversion
clears it and the next list that needs it works it out again. Recorded quantities only.
"""

from __future__ import annotations

import math
from typing import Any

from sensing.metrics.onblocks import TOTAL
from sensing.metrics.summary import SessionSummary, summarise
from sensing.store.listing import Listed
from sensing.store.sessions import Store

UNITS = "N"


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def visit_from(summary: SessionSummary) -> dict[str, Any]:
    """What a visit list shows, from a session's summary read in N."""
    return {"time_on_blocks_s": _number(summary.time_on_blocks_s),
            "blocks": [{"name": c.name, "unit": c.unit, "mean": _number(c.loaded_mean),
                        "share_pct": _number(c.share_pct)}
                       for c in summary.channels if c.name != TOTAL]}


def work_out(store: Store, session_id: int) -> dict[str, Any]:
    """A session's visit figures, from its samples in N, kept in its row (a store that keeps
    what is worked out: ``Store.keeps_derived``; a recording session keeps none)."""
    with store.session(session_id) as session:
        visit = visit_from(summarise(session.samples(UNITS)))
    if store.keeps_derived:
        store.keep_visit(session_id, visit)
    return visit


def fill(store: Store, listed: list[Listed], most: int | None = None) -> list[Listed]:
    """Work out the visits a list lacks (ended sessions an older sotlog, an import or an edit
    left without), in place, at most ``most`` of them (None: all); those stored are read as
    they are, and those left show none until a later list."""
    missing = [i for i in listed if i.visit is None and i.status != "recording" and not i.damaged]
    for item in missing[:most]:
        item.visit = work_out(store, item.id)
    return listed
