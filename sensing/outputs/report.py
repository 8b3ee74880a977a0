"""The one-page report of a session for the patient's file, as PDF (matplotlib, no browser).

Top to bottom: the session header, force per block over time with the events beside the pelvis
drawing, the descriptive measures, the data-quality box, and a footer with the sotlog version,
the session uuid and what sotlog does. Everything is laid out in fixed boxes on one page, so a
session with many events, long notes or four blocks still fits: long text is cut with a word
saying how much more there is, never silently.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

import firmware_bridge
from firmware_bridge.errors import SotlogError
from sensing.metrics.formulas import FORMULAS
from sensing.metrics.measures import ON_BLOCKS, SESSION
from sensing.outputs import pelvis
from sensing.outputs.figurekinds import PAPERS
from sensing.outputs.plots import EVENT_COLOURS, envelope
from sensing.outputs.reportdata import ReportData
from sensing.vocabulary import INTENDED_USE, LANDMARK_LABELS, OUTPUT_UNITS

MARGIN = 0.5
INK, MUTED, RULE, STRIPE = "#1d2430", "#5d6776", "#c9cfd8", "#f1f3f6"
BASE = 7.0  # points: the body text
PLACEMENT_KINDS = ("placed", "settled", "removed")
PERSON = {"settled": "#0b6e99"}
QUALITY_MAX_LINES = 14
FOOTER_H = 0.42
LEGEND_COLUMNS = 5
ROW_MIN_ONE = 0.105  # inches: a row shorter than this in one column splits the table in two


class Page:
    """A figure of one paper size, with boxes placed in inches from the top-left corner."""

    def __init__(self, paper: str) -> None:
        if paper not in PAPERS:
            raise SotlogError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
        self.w, self.h = PAPERS[paper]
        self.fig = Figure(figsize=(self.w, self.h))
        self.inner = self.w - 2 * MARGIN

    def axes(self, x: float, y: float, w: float, h: float, **kw: Any) -> Any:
        return self.fig.add_axes((x / self.w, 1 - (y + h) / self.h, w / self.w, h / self.h), **kw)

    def text(self, x: float, y: float, s: str, **kw: Any) -> Any:
        kw.setdefault("fontsize", BASE)
        kw.setdefault("color", INK)
        kw.setdefault("va", "top")
        return self.fig.text(x / self.w, 1 - y / self.h, s, **kw)

    def band(self, x: float, y: float, w: float, h: float) -> None:
        """A light stripe behind a table row (a patch on the figure: cheaper than an axes)."""
        from matplotlib.patches import Rectangle

        self.fig.add_artist(Rectangle((x / self.w, 1 - (y + h) / self.h), w / self.w,
                                      h / self.h, facecolor=STRIPE, edgecolor="none",
                                      transform=self.fig.transFigure, zorder=0))

    def rule(self, y: float, x0: float | None = None, x1: float | None = None) -> None:
        self.fig.add_artist(_line(self, y, MARGIN if x0 is None else x0,
                                  self.w - MARGIN if x1 is None else x1))

    def chars(self, width_in: float, size: float = BASE) -> int:
        """About how many characters of ``size`` points fit in ``width_in`` inches."""
        return int(width_in * 72 / (0.52 * size))


def _line(page: Page, y: float, x0: float, x1: float) -> Any:
    from matplotlib.lines import Line2D

    yy = 1 - y / page.h
    return Line2D([x0 / page.w, x1 / page.w], [yy, yy], color=RULE, linewidth=0.6,
                  transform=page.fig.transFigure)


def _cut(text: str, width: int, lines: int, more: str) -> list[str]:
    """``text`` wrapped to ``lines`` lines at most; the last says how many characters are left."""
    wrapped = textwrap.wrap(" ".join(text.split()), width) or [""]
    if len(wrapped) <= lines:
        return wrapped
    kept = wrapped[:lines]
    shown = len(" ".join(kept))
    tail = f" … {max(0, len(text) - shown)} more characters {more}"
    kept[-1] = kept[-1][: max(0, width - len(tail))] + tail
    return kept


def _header(page: Page, data: ReportData) -> float:
    info = data.session.info
    m = info.meta
    cfg = data.config
    page.text(MARGIN, MARGIN, "SESSION RECORD", fontsize=BASE, color=MUTED, fontweight="bold")
    page.text(MARGIN, MARGIN + 0.16, m.subject_code or "no subject code", fontsize=17,
              fontweight="bold")
    when = info.started_utc[:16].replace("T", " ") + " UTC"
    facts = [when, f"position {m.position or '-'}", f"category {m.category or '-'}",
             f"short-leg side {m.short_leg or '-'}", f"recorded {info.duration_s / 60:.1f} min",
             info.status]
    if m.body_weight_kg:
        facts.insert(4, f"body weight {m.body_weight_kg:g} kg")
    page.text(MARGIN, MARGIN + 0.50, "  ·  ".join(facts), fontsize=BASE + 1)
    right = page.w - MARGIN
    page.text(right, MARGIN, cfg.get("clinic", ""), ha="right", fontsize=BASE + 3,
              fontweight="bold")
    who = [f"session {info.id}"]
    if cfg.get("practitioner"):
        who.insert(0, f"practitioner {cfg['practitioner']}")
    page.text(right, MARGIN + 0.22, "  ·  ".join(who), ha="right", color=MUTED)
    y = MARGIN + 0.70
    if m.note:
        for line in _cut("note: " + m.note, page.chars(page.inner), 2, "in the stored note"):
            page.text(MARGIN, y, line, color=MUTED)
            y += 0.13
    page.rule(y + 0.04)
    return y + 0.12


def _force(page: Page, data: ReportData, y: float, h: float, w: float) -> None:
    s = data.samples
    legend_rows = -(-len(s.names) // LEGEND_COLUMNS) if s.names else 1
    drop = 0.13 * (legend_rows - 1)  # room above the plot for a legend of several rows
    ax = page.axes(MARGIN + 0.38, y + 0.05 + drop, w - 0.38, h - 0.40 - drop)
    t, v = envelope(s.time_s, s.values)
    sides = {x.subject: x.side for x in data.measures.measures}
    seen: dict[str, int] = {}
    for j, name in enumerate(s.names):
        side = sides.get(name) or name
        k = seen[side] = seen.get(side, -1) + 1  # a second block of a side in a lighter shade
        style = ({"color": INK, "linewidth": 0.9} if name == "total"
                 else {"color": _shade(pelvis.SIDE_COLOURS.get(side, MUTED), k),
                       "linewidth": 0.8})
        label = data.measures.subjects.get(name, name)
        ax.plot(t, v[:, j], label=f"{label} ({s.units[j]})", **style)
    kinds: dict[str, int] = {}
    for e in data.events:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
        if not np.isfinite(e.time_s):
            continue
        colour = EVENT_COLOURS.get(e.kind, PERSON.get(e.kind, "#999999"))
        if e.kind == "gap" and e.data.get("duration_s"):
            ax.axvspan(e.time_s - float(e.data["duration_s"]), e.time_s, color=colour,
                       alpha=0.15, linewidth=0)
        if e.kind not in PLACEMENT_KINDS:  # a tick along the foot, so many stay readable
            ax.axvline(e.time_s, ymax=0.05, color=colour, linewidth=0.7)
            continue
        ax.axvline(e.time_s, color=colour, linewidth=0.9,
                   linestyle="-" if e.source == "person" else "--")
        ax.annotate(f"{e.kind} ({e.source})", (e.time_s, 1.0),
                    xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                    fontsize=BASE - 1.5, color=colour)
    for span in data.measures.spans:
        ax.axvspan(*span, color="#1b7f3b", alpha=0.05, linewidth=0)
    unit = s.units[0] if s.units else ""
    ax.set_xlabel("time since start (s)", fontsize=BASE, labelpad=1)
    ax.set_ylabel(f"force ({unit})" if unit in OUTPUT_UNITS else unit, fontsize=BASE, labelpad=1)
    ax.tick_params(labelsize=BASE - 1, length=2, pad=1)
    ax.grid(True, alpha=0.3, linewidth=0.4)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if s.names:
        ax.legend(loc="lower left", fontsize=BASE - 0.5, frameon=False,
                  ncol=min(LEGEND_COLUMNS, len(s.names)), bbox_to_anchor=(0.0, 1.0),
                  borderaxespad=0.2, handlelength=1.6)
    if not s.time_s.size:
        ax.text(0.5, 0.5, "no samples recorded", transform=ax.transAxes, ha="center")
    listed = "  ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"
    legend = (f"events: {listed}. Placed and removed: a solid line when a person marked it, "
              "dashed when sotlog found it; other events: ticks along the foot; green band: on "
              "the blocks.")
    for k, line in enumerate(textwrap.wrap(legend, page.chars(page.inner, BASE - 1))[:2]):
        page.text(MARGIN, y + h - 0.1 + 0.11 * k, line, fontsize=BASE - 1, color=MUTED)


def _blocks(page: Page, data: ReportData, x: float, y: float, w: float, h: float) -> None:
    meta = data.session.info.meta
    drawing_h = min(h * 0.72, h - 0.12 * len(meta.blocks) - 0.12)
    ax = page.axes(x, y, w, drawing_h)
    pelvis.draw(ax, meta.position, meta.blocks, fontsize=BASE - 1.5)
    yy = y + drawing_h + 0.12
    if not meta.blocks:
        page.text(x, yy, "no blocks entered", color=MUTED)
    for i, b in enumerate(meta.blocks, start=1):
        angle = f", {b.angle_deg:g}°" if b.angle_deg is not None else ""
        chan = f" (channel {b.channel})" if b.channel else ""
        page.text(x, yy, f"{i}  {b.side} {LANDMARK_LABELS.get(b.landmark, b.landmark)}"
                         f"{angle}{chan}", fontsize=BASE - 0.5,
                  color=pelvis.SIDE_COLOURS.get(b.side, INK))
        yy += 0.12


def _table(page: Page, data: ReportData, y: float, h: float) -> float:
    """The measures table in at most ``h`` inches from ``y``, in two halves side by side when
    one column would need rows too small to read; the height it took."""
    ms = data.measures
    rows = ms.rows()
    page.text(MARGIN, y, "MEASURES", color=MUTED, fontweight="bold")
    page.text(MARGIN + 0.75, y, ms.note, color=MUTED, fontsize=BASE - 0.5)
    top = y + 0.20
    room = h - 0.36
    halves = 1 if room / (len(rows) + 1) >= ROW_MIN_ONE else 2
    per = -(-len(rows) // halves)
    row_h = min(0.15, max(0.09, room / (per + 1)))
    size = min(BASE, row_h * 72 * 0.72)
    width = page.inner if halves == 1 else page.inner / 2 - 0.1
    end = top
    for k in range(halves):
        x = MARGIN + k * (width + 0.2)
        end = max(end, _rows(page, x, top, rows[k * per:(k + 1) * per], ms.windows, width,
                             row_h, size))
    sym = (f"symmetry index = {FORMULAS['symmetry']}. "
           if any(m.formula == "symmetry" for m in ms.measures) else "")
    sym += "Each formula id is given in docs/metrics.md. No measure has a range or cut-off."
    for line in textwrap.wrap(sym, page.chars(page.inner, BASE - 1)):
        page.text(MARGIN, end + 0.04, line, fontsize=BASE - 1, color=MUTED)
        end += 0.11
    return end + 0.04 - y


def _rows(page: Page, x: float, top: float, rows: list[Any], windows: list[str], width: float,
          row_h: float, size: float) -> float:
    """One column of the measures table (a full-width one has the formula ids); where it ends."""
    heads = {SESSION: "whole session", ON_BLOCKS: "on the blocks"}
    full = width > page.inner / 2
    step, first = (1.3, 3.75) if full else (0.8, 2.7)
    cols = [("of", 0.0, "left"), ("measure", 1.0 if full else 0.66, "left")]
    cols += [(heads[k], first + step * i, "right") for i, k in enumerate(windows)]
    if full:
        cols.append(("formula", first + step * (len(windows) - 1) + 0.3, "left"))
    for label, cx, ha in cols:
        page.text(x + cx, top, label, fontsize=size, color=MUTED, ha=ha, fontweight="bold")
    page.rule(top + row_h * 0.95, x, x + width)
    yy = top + row_h * 1.05
    for i, (of, name, unit, formula, by) in enumerate(rows):
        if i % 2:
            page.band(x - 0.05, yy - 0.02, width + 0.1, row_h)
        said = name.endswith(f"({unit})")  # "force oscillation (cycles/min)" names its unit
        values = [_value(by[k]) + ("" if said else f" {unit}")
                  if by.get(k) and by[k].value is not None else "-" for k in windows]
        cells = [of, name, *values, formula][:len(cols)]
        for (_, cx, ha), cell in zip(cols, cells, strict=True):
            page.text(x + cx, yy, cell, fontsize=size, ha=ha,
                      color=MUTED if full and cx == cols[-1][1] else INK)
        yy += row_h
    return yy


def _shade(colour: str, k: int) -> Any:
    """``colour`` mixed with white: 0 is the colour itself, each step lighter."""
    from matplotlib.colors import to_rgb

    mix = min(0.6, 0.3 * k)
    return tuple(c + (1 - c) * mix for c in to_rgb(colour))


def _value(m: Any) -> str:
    return f"{m.value:.{m.digits}f}"


def _quality(page: Page, data: ReportData, y: float, lines: list[tuple[str, str]]) -> float:
    h = 0.26 + 0.125 * len(lines)
    ax = page.axes(MARGIN, y, page.inner, h)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(RULE)
        spine.set_linewidth(0.7)
    page.text(MARGIN + 0.08, y + 0.07, "DATA QUALITY", color=MUTED, fontweight="bold")
    yy = y + 0.22
    for what, text in lines:
        page.text(MARGIN + 0.08, yy, what, color=MUTED, fontsize=BASE - 0.5)
        page.text(MARGIN + 1.0, yy, text, fontsize=BASE - 0.5)
        yy += 0.125
    return h


def _quality_lines(page: Page, data: ReportData) -> list[tuple[str, str]]:
    width = page.chars(page.inner - 1.1, BASE - 0.5)
    out: list[tuple[str, str]] = []
    last = ""
    for what, text in data.quality:
        for line in textwrap.wrap(text, width) or [""]:
            out.append((what if what != last else "", line))
            last = what
    if len(out) > QUALITY_MAX_LINES:
        left = len(out) - QUALITY_MAX_LINES + 1
        out = [*out[:QUALITY_MAX_LINES - 1],
               ("", f"… {left} more lines: `sotlog show {data.session.info.id}` gives them all")]
    return out


def _footer(page: Page, data: ReportData) -> None:
    info = data.session.info
    y = page.h - MARGIN - FOOTER_H
    page.rule(y)
    yy = y + 0.06
    for line in textwrap.wrap(INTENDED_USE, page.chars(page.inner, BASE - 0.5)):
        page.text(MARGIN, yy, line, fontsize=BASE - 0.5, color=MUTED)
        yy += 0.12
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page.text(MARGIN, yy + 0.02, f"sotlog {firmware_bridge.__version__} (recorded with "
              f"{info.software_version})  ·  session uuid {info.uuid}  ·  printed {made}",
              fontsize=BASE - 1, color=MUTED)


def write_report(data: ReportData, path: str | Path, paper: str = "a4") -> Path:
    """Lay ``data`` out on one page of ``paper`` and write it to ``path`` as PDF."""
    out = Path(path)
    if out.suffix.lower() != ".pdf":
        raise SotlogError(f"report file must end in .pdf: {out.name}")
    page = Page(paper)
    y = _header(page, data)
    plot_h = 2.75
    side_w = 2.0
    _force(page, data, y + 0.12, plot_h, page.inner - side_w - 0.2)
    _blocks(page, data, page.w - MARGIN - side_w, y + 0.05, side_w, plot_h - 0.2)
    y += plot_h + 0.3
    quality = _quality_lines(page, data)
    quality_h = 0.26 + 0.125 * len(quality)
    footer_top = page.h - MARGIN - FOOTER_H
    y += _table(page, data, y, footer_top - 0.25 - quality_h - y)
    _quality(page, data, y + 0.1, quality)
    _footer(page, data)
    info = data.session.info
    out.parent.mkdir(parents=True, exist_ok=True)
    page.fig.savefig(out, format="pdf", metadata={
        "Title": f"sotlog session {info.id} {info.meta.subject_code or ''}".strip(),
        "Creator": f"sotlog {firmware_bridge.__version__}", "Subject": info.uuid})
    return out

