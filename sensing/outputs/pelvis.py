"""The pelvis drawing, head at the top: bones, landmarks, blocks.

One geometry for every face: the pages draw it in SVG from ``GET /api/vocabulary`` (pelvis.js),
the report draws it here with matplotlib. It is oriented as every mat picture is, by the one
rule of ``sensing.mat.orientation.PICTURE_EDGES``: the head at the top, the patient's right on
the image's left and the patient's left on its right, in every position, with those words on
those edges. Coordinates are SVG's: x to the right, y down, in a ``SIZE`` box.
"""

from __future__ import annotations

from typing import Any

from sensing.mat.orientation import PICTURE_EDGES

SIZE = (400, 290)
# Where each landmark sits on the image's left half (the right half mirrors it). Landmarks left
# out ("other") are in the block table only.
LANDMARKS: dict[str, tuple[int, int]] = {
    "iliac_crest": (92, 62), "ilium": (128, 112), "sacrum": (186, 140),
    "acetabulum": (122, 190), "greater_trochanter": (70, 222),
}
# The image's edge each side of the patient lies on: the mat pictures' (PICTURE_EDGES).
IMAGE_SIDES = {word.split()[-1].lower(): edge for edge, word in PICTURE_EDGES.items()
               if word.startswith("patient's")}
SHORT_LABELS = {"greater_trochanter": "gr. trochanter"}  # too long beside the bone
LABELS_BELOW = ("greater_trochanter",)  # too near the edge for a label beside it
SIDE_COLOURS = {"left": "#1f6fb2", "right": "#c8561a"}
# The bones as SVG path commands (M, C, L, Z with absolute points): the left half, mirrored for
# the right, and the middle (sacrum and coccyx), drawn once.
HALF: list[list[Any]] = [
    # ilium wing, with the crest as its upper rim
    [["M", 182, 92], ["C", 160, 52, 118, 36, 84, 46], ["C", 58, 54, 52, 86, 68, 114],
     ["C", 84, 140, 104, 160, 116, 172], ["L", 150, 176], ["C", 162, 150, 172, 122, 182, 92],
     ["Z"]],
    # pubis and ischium towards the midline
    [["M", 116, 172], ["C", 112, 200, 124, 232, 150, 244], ["C", 170, 252, 190, 246, 198, 236],
     ["L", 196, 214], ["C", 180, 220, 160, 214, 150, 198], ["L", 150, 176], ["Z"]],
    # femur: neck, greater trochanter, shaft
    [["M", 122, 190], ["L", 96, 204], ["C", 80, 200, 62, 206, 58, 222],
     ["C", 56, 236, 66, 246, 78, 248], ["L", 84, 290], ["L", 106, 290],
     ["C", 100, 240, 104, 230, 110, 212], ["Z"]],
]
FEMORAL_HEAD = (122, 190, 16)  # circle: centre x, y, radius (left half)
MIDDLE: list[list[Any]] = [
    [["M", 182, 92], ["L", 218, 92], ["L", 212, 170], ["L", 204, 196], ["L", 196, 196],
     ["L", 188, 170], ["Z"]],
]


def drawing() -> dict[str, Any]:
    """The drawing as data, for pelvis.js (``GET /api/vocabulary``, key ``pelvis``)."""
    return {"width": SIZE[0], "height": SIZE[1],
            "landmarks": {k: list(v) for k, v in LANDMARKS.items()},
            "edges": PICTURE_EDGES, "image_sides": IMAGE_SIDES,
            "short_labels": SHORT_LABELS, "labels_below": list(LABELS_BELOW),
            "half": HALF, "femoral_head": list(FEMORAL_HEAD), "middle": MIDDLE,
            "side_colours": SIDE_COLOURS}


def image_side(patient_side: str) -> str:
    """Which side of the image a patient's side is drawn on (the same in every position)."""
    return IMAGE_SIDES[patient_side]


def landmark_xy(landmark: str, patient_side: str) -> tuple[float, float]:
    x, y = LANDMARKS[landmark]
    return (x, y) if image_side(patient_side) == "left" else (SIZE[0] - x, y)


def _path(commands: list[list[Any]], mirror: bool) -> Any:
    from matplotlib.path import Path as MplPath

    verts: list[tuple[float, float]] = []
    codes: list[Any] = []
    kinds = {"M": MplPath.MOVETO, "L": MplPath.LINETO, "C": MplPath.CURVE4}
    for cmd, *xy in commands:
        if cmd == "Z":
            verts.append(verts[0])
            codes.append(MplPath.CLOSEPOLY)
            continue
        points = list(zip(xy[::2], xy[1::2], strict=True))
        for px, py in points:
            verts.append((SIZE[0] - px if mirror else px, py))
            codes.append(kinds[cmd])
    return MplPath(verts, codes)


def draw(ax: Any, position: str | None, blocks: list[Any], *, fontsize: float = 6.5) -> None:
    """The pelvis on ``ax`` (a matplotlib Axes), each block at its landmark in its side's colour,
    turned by its angle and labelled with its number; blocks at "other" are left to the text."""
    from matplotlib.patches import Circle, FancyBboxPatch, PathPatch
    from matplotlib.transforms import Affine2D

    bone = {"facecolor": "#eceae4", "edgecolor": "#8d877b", "linewidth": 0.7}
    for mirror in (False, True):
        for shape in HALF:
            ax.add_patch(PathPatch(_path(shape, mirror), **bone))
        cx, cy, r = FEMORAL_HEAD
        ax.add_patch(Circle((SIZE[0] - cx if mirror else cx, cy), r, **bone))
    for shape in MIDDLE:
        ax.add_patch(PathPatch(_path(shape, False), **bone))
    ax.set_xlim(0, SIZE[0])
    ax.set_ylim(SIZE[1], 0)
    ax.set_aspect("equal")
    ax.axis("off")
    for side, edge in IMAGE_SIDES.items():
        left = edge == "left"
        ax.text(6 if left else SIZE[0] - 6, 14, PICTURE_EDGES[edge], ha="left" if left else "right",
                fontsize=fontsize, color=SIDE_COLOURS[side], fontweight="bold")
    ax.text(SIZE[0] / 2, 12, PICTURE_EDGES["top"], ha="center", fontsize=fontsize,
            color="#555555")
    ax.text(SIZE[0] / 2, SIZE[1] + 4, f"as the mat pictures · {position or 'position not given'}",
            ha="center", va="top", fontsize=fontsize, color="#555555")
    for i, b in enumerate(blocks, start=1):
        if b.landmark not in LANDMARKS:
            continue
        x, y = landmark_xy(b.landmark, b.side)
        turn = (b.angle_deg or 0.0) * (-1 if x > SIZE[0] / 2 else 1)
        box = FancyBboxPatch((-24, -11), 48, 22, boxstyle="round,pad=0,rounding_size=4",
                             facecolor=SIDE_COLOURS.get(b.side, "#777777"), alpha=0.85,
                             edgecolor="white", linewidth=0.6)
        box.set_transform(Affine2D().rotate_deg(turn).translate(x, y) + ax.transData)
        ax.add_patch(box)
        ax.text(x, y, str(i), ha="center", va="center", fontsize=fontsize + 0.5, color="white",
                fontweight="bold")
