"""The kinds of picture a stored session can be drawn as, and what each takes: light to import
(no numpy, no matplotlib), so the command line lists them quickly. ``figures`` draws them."""

from __future__ import annotations

from typing import NamedTuple

STILLS = (".png", ".svg", ".pdf")
MOVING = (".gif", ".mp4")


class Kind(NamedTuple):
    """One kind of picture: whether it needs a mat, the file types, the options it takes."""

    mat: bool
    suffixes: tuple[str, ...]
    options: tuple[str, ...]
    help: str


KINDS: dict[str, Kind] = {
    "force": Kind(False, STILLS, (), "force per block over time, events marked"),
    "heatmap": Kind(True, STILLS, ("at",),
                    "one mat frame (--at S, default the frame with the most load)"),
    "mean": Kind(True, STILLS, ("t0", "t1"),
                 "the mean frame with block regions and the centre-of-pressure path"),
    "cop": Kind(True, STILLS, ("t0", "t1"), "centre of pressure x and y over time"),
    "animation": Kind(True, MOVING, ("t0", "t1", "fps", "speed"),
                      "the frames as a GIF (or MP4 with ffmpeg) at --fps, --speed x real time"),
}

# Pictures of one subject's sessions (``sotlog plot --subject CODE``), drawn by visitplot.
SUBJECT_KINDS: dict[str, Kind] = {
    "visits": Kind(False, STILLS, (), "a subject's visits: time on the blocks, and each block's "
                                      "mean force on the blocks with its share, per visit"),
}

# The report's paper sizes, width and height in inches (sotlog report --paper; the default first).
PAPERS: dict[str, tuple[float, float]] = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
