"""A subject's visits drawn one beside the other: the quantities each session recorded.

One point per visit, in the order they were recorded: above, the time on the blocks; below,
each block's mean force while on the blocks, with its share written beside the point. The
numbers are those a visit list shows (``sensing.metrics.visits``); nothing is fitted, joined
into a trend or compared with any range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from firmware_bridge.errors import SotlogError
from sensing.outputs.plots import check_still_path


def plot_visits(subject: str, visits: list[Any], path: str | Path) -> Path:
    """Write the visits (``Listed`` with ``visit`` worked out, oldest first) to ``path``."""
    out = check_still_path(path)
    if not visits:
        raise SotlogError(f"no sessions of subject {subject} to draw")
    x = list(range(len(visits)))
    labels = [f"#{v.id}\n{v.started_utc[:10]}" for v in visits]
    fig = Figure(figsize=(max(6.0, 1.1 * len(visits) + 3), 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    on = [(v.visit or {}).get("time_on_blocks_s") for v in visits]
    top.plot([i for i, s in zip(x, on, strict=True) if s is not None],
             [s for s in on if s is not None], "o", color="black")
    top.set_ylabel("time on the blocks (s)")
    top.set_title(f"subject {subject} · {len(visits)} visit(s), as recorded", loc="left")
    every = [b for v in visits for b in (v.visit or {}).get("blocks", [])]
    names = list(dict.fromkeys(b["name"] for b in every))
    units = {b["unit"] for b in every}
    for name in names:
        points = [(i, b) for i, v in zip(x, visits, strict=True)
                  for b in (v.visit or {}).get("blocks", []) if b["name"] == name
                  and b["mean"] is not None]
        bottom.plot([i for i, _ in points], [b["mean"] for _, b in points], "o", label=name)
        for i, b in points:
            if b["share_pct"] is not None:
                bottom.annotate(f"{b['share_pct']:.0f} %", (i, b["mean"]), fontsize="x-small",
                                xytext=(4, 2), textcoords="offset points")
    unit = units.pop() if len(units) == 1 else "unit as recorded"
    bottom.set_ylabel(f"mean force on the blocks ({unit})")
    bottom.set_xticks(x, labels, fontsize="small")
    bottom.set_xlim(-0.5, len(visits) - 0.5)
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)  # from zero: no axis that makes a small difference look large
    if names:
        bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                      title="block (share %)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out
