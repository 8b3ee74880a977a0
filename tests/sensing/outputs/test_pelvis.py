"""The report's pelvis drawing is oriented as every mat picture, prone or supine: the words of
``PICTURE_EDGES`` on their edges, the patient's left block on the image's right half."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from sensing.mat.orientation import PICTURE_EDGES
from sensing.metadata import Block
from sensing.outputs import pelvis


@pytest.mark.parametrize("position", ["prone", "supine", None])
def test_the_report_drawing_is_oriented_as_the_mat_pictures(position: str | None) -> None:
    ax = Figure().add_subplot()
    pelvis.draw(ax, position, [Block(side="left", landmark="iliac_crest", channel="left"),
                               Block(side="right", landmark="acetabulum", channel="right")])
    at = {t.get_text(): t.get_position() for t in ax.texts}
    middle = pelvis.SIZE[0] / 2
    assert at[PICTURE_EDGES["left"]][0] < middle < at[PICTURE_EDGES["right"]][0]
    assert at[PICTURE_EDGES["top"]][0] == middle
    assert at["2"][0] < middle < at["1"][0]  # block 1 on the patient's left: the image's right
