"""The rules the pages need, from the one place each is defined: ``GET /api/vocabulary``.

Words (positions, categories, landmarks, statuses), units with newtons per unit, the ranges a
form accepts, the on-the-blocks rule, the decimals a number is shown with by its unit
(sensing/rounding.py), the calibration fits and the pelvis drawing (its bones and
where each landmark sits: sensing/outputs/pelvis.py, which the report draws too). The pages
fetch this once; the templates render the same data into their ``<select>`` options. No page
keeps a copy of any of it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sensing import rounding, vocabulary
from sensing.calibration.fit import FIT_DEGREES
from sensing.metrics import detect, onblocks
from sensing.outputs import pelvis

router = APIRouter(prefix="/api", tags=["vocabulary"])

def rules() -> dict[str, Any]:
    """Everything the pages need to know about sotlog's words, units and rules."""
    return {
        **vocabulary.as_dict(),
        **rounding.as_dict(),
        "on_the_blocks": onblocks.rule(),
        "detection": detect.rule_dict(),
        "fits": list(FIT_DEGREES),
        "pelvis": pelvis.drawing(),
    }


@router.get("/vocabulary")
def get_vocabulary() -> dict[str, Any]:
    """Positions, categories, short-leg and block sides, landmarks with labels, ranges, event
    kinds, statuses, force and calibration load units (newtons per unit), the on-the-blocks
    and detection rules, calibration fits, and the pelvis drawing's landmark positions."""
    return rules()
