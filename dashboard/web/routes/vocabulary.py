"""The rules the pages need, from the one place each is defined: ``GET /api/vocabulary``.

Words (positions, categories, landmarks, statuses), units with newtons per unit, the ranges a
form accepts, the on-the-blocks rule, the calibration fits and where each landmark sits on the
pelvis drawing. The pages fetch this once; the templates render the same data into their
``<select>`` options. No page keeps a copy of any of it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sensing import vocabulary
from sensing.calibration.fit import FIT_DEGREES
from sensing.metrics import detect, onblocks

router = APIRouter(prefix="/api", tags=["vocabulary"])

# The pelvis drawing, seen from above with the head at the top: where each landmark sits on the
# image's left half (the right half mirrors it). Landmarks left out ("other") are in the block
# table only. Prone, we see the back, so the patient's left is on the image's left; in a
# mirrored position (supine) the patient faces us and it is on the right.
PELVIS_SIZE = (400, 290)
PELVIS_LANDMARKS: dict[str, tuple[int, int]] = {
    "iliac_crest": (92, 62), "ilium": (128, 112), "sacrum": (186, 140),
    "acetabulum": (122, 190), "greater_trochanter": (70, 222),
}
PELVIS_MIRRORED = ("supine",)
PELVIS_SHORT_LABELS = {"greater_trochanter": "gr. trochanter"}  # too long beside the bone
PELVIS_LABELS_BELOW = ("greater_trochanter",)  # too near the edge for a label beside it


def pelvis_drawing() -> dict[str, Any]:
    """The drawing's size, landmark positions and labelling, for pelvis.js."""
    return {"width": PELVIS_SIZE[0], "height": PELVIS_SIZE[1],
            "landmarks": {k: list(v) for k, v in PELVIS_LANDMARKS.items()},
            "mirrored_positions": list(PELVIS_MIRRORED),
            "short_labels": PELVIS_SHORT_LABELS, "labels_below": list(PELVIS_LABELS_BELOW)}


def rules() -> dict[str, Any]:
    """Everything the pages need to know about sotlog's words, units and rules."""
    return {
        **vocabulary.as_dict(),
        "on_the_blocks": onblocks.rule(),
        "detection": detect.rule_dict(),
        "fits": list(FIT_DEGREES),
        "pelvis": pelvis_drawing(),
    }


@router.get("/vocabulary")
def get_vocabulary() -> dict[str, Any]:
    """Positions, categories, short-leg and block sides, landmarks with labels, ranges, event
    kinds, statuses, force and calibration load units (newtons per unit), the on-the-blocks
    and detection rules, calibration fits, and the pelvis drawing's landmark positions."""
    return rules()
