"""Animations of a mat session: GIF by Pillow, MP4 through ffmpeg when it is on PATH.

The labelled figure is drawn once by matplotlib; each animation frame only recolours the pixels
of the heat image through a palette, so a long session animates in milliseconds per frame.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from PIL import Image, ImageDraw, ImageFont

from firmware_bridge.errors import ExportError
from firmware_bridge.profiles import Matrix
from sensing.mat.orientation import mat_extent_mm, patient_view
from sensing.mat.regions import Region
from sensing.outputs.matfigures import CMAP, draw_mat, mat_figure, scaled, value_range

N_COLOURS = 200  # palette entries 0..199 carry the colour map; the rest are greys and marks
NO_DATA = N_COLOURS + 8  # a mid grey for output frames with no recorded frame behind them
BLACK = N_COLOURS


def _palette() -> np.ndarray:
    from matplotlib import colormaps

    cmap = colormaps[CMAP].resampled(N_COLOURS)
    colours = (cmap(np.arange(N_COLOURS))[:, :3] * 255).round()
    greys = np.repeat(np.linspace(0, 255, 48).round()[:, None], 3, axis=1)
    marks = np.array([[c * 255 for c in to_rgb(name)] for name in ("#ff3b30", "white")])
    pal = np.vstack([colours, greys, marks]).astype(np.uint8)
    return np.vstack([pal, np.zeros((256 - len(pal), 3), np.uint8)])


class _Painter:
    """Draws the figure once, then paints each frame's sensel values into it as palette indices."""

    def __init__(self, values: np.ndarray, matrix: Matrix, regions: Iterable[Region] | None,
                 title: str) -> None:
        self.view = patient_view(values, matrix)
        vmin, vmax = value_range(self.view)
        self.vmin, self.step = vmin, (vmax - vmin) / (N_COLOURS - 1)
        self.palette = _palette()
        fig, ax = mat_figure(matrix, width=5.6, dpi=80)
        fig.suptitle(title or " ", x=0.98, ha="right", fontsize=10)
        image = draw_mat(fig, ax, np.full(self.view.shape[1:], vmin), matrix, regions=regions,
                         vrange=(vmin, vmax), title="")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        low = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(np.int16)
        image.set_data(np.full(self.view.shape[1:], vmax))
        canvas.draw()
        high = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(np.int16)
        h, w = (low.shape[0] // 2) * 2, (low.shape[1] // 2) * 2  # even sizes for yuv420p video
        low, high = low[:h, :w], high[:h, :w]
        # Heat pixels are those that change with the data; labels and marks on top do not.
        change = np.abs(high - low).sum(axis=2)
        self.heat = np.flatnonzero(change > change.max() / 2)
        px_y, px_x = np.divmod(self.heat, w)
        data = ax.transData.inverted().transform(np.column_stack([px_x + 0.5, h - px_y - 0.5]))
        x0, x1, y0, y1 = mat_extent_mm(matrix)
        ny, nx = self.view.shape[1:]
        self.iy = np.clip(((data[:, 1] - y0) / (y1 - y0) * ny).astype(np.intp), 0, ny - 1)
        self.ix = np.clip(((data[:, 0] - x0) / (x1 - x0) * nx).astype(np.intp), 0, nx - 1)
        pal_image = Image.new("P", (1, 1))
        pal_image.putpalette(self.palette.ravel().tolist())
        rgb = Image.fromarray(low.astype(np.uint8), "RGB")
        self.background = np.asarray(rgb.quantize(palette=pal_image, dither=Image.Dither.NONE))
        self.size = (w, h)
        self.font = ImageFont.load_default(size=14)

    def paint(self, index: int, time_s: float, has_data: bool) -> np.ndarray:
        """Palette indices ``(h, w)`` of one output frame."""
        out = self.background.copy().ravel()
        if has_data:
            frame = self.view[index]
            finite = np.isfinite(frame)
            codes = np.full(frame.shape, NO_DATA, dtype=np.uint8)  # a NaN sensel shows grey
            codes[finite] = np.rint((frame[finite] - self.vmin) / self.step)
            out[self.heat] = codes[self.iy, self.ix]
        else:
            out[self.heat] = NO_DATA
        im = Image.fromarray(out.reshape(self.size[1], self.size[0]), "P")
        label = f"t = {time_s:.2f} s" + ("" if has_data else "  no data")
        ImageDraw.Draw(im).text((6, 3), label, fill=BLACK, font=self.font)
        return np.asarray(im)


def schedule(
    times: np.ndarray, fps: float, speed: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pick, has_data, t_out)``: which recorded frame each output frame shows, at ``speed``.

    An output frame shows the last recorded frame at or before its time; when that frame is more
    than three median frame intervals old (a gap in the recording) it shows "no data" instead.
    """
    step = speed / fps
    t_out = times[0] + np.arange(int(np.floor((times[-1] - times[0]) / step + 1e-9)) + 1) * step
    pick = np.searchsorted(times, t_out, side="right") - 1
    dt = np.diff(times)
    stale_after = 3 * float(np.median(dt)) if dt.size else np.inf
    has_data = (t_out - times[pick]) <= max(stale_after, 1e-9)
    return pick, has_data, t_out


def _write_gif(frames: Iterator[np.ndarray], painter: _Painter, path: Path, fps: float) -> None:
    images = []
    for codes in frames:
        im = Image.fromarray(codes, "P")
        im.putpalette(painter.palette.ravel().tolist())
        images.append(im)
    images[0].save(path, save_all=True, append_images=images[1:], duration=1000.0 / fps, loop=0)


def _write_mp4(frames: Iterator[np.ndarray], painter: _Painter, path: Path, fps: float) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ExportError("writing .mp4 needs ffmpeg on PATH; install it or write a .gif")
    w, h = painter.size
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", "-an", "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        for codes in frames:
            proc.stdin.write(painter.palette[codes].tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass  # ffmpeg stopped reading; its exit code and message say why
    finally:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        code = proc.wait()
    if code != 0:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit code {code}"
        raise ExportError(f"ffmpeg could not write {path}: {last}")


ANIMATION_WRITERS: dict[str, Callable[[Iterator[np.ndarray], _Painter, Path, float], None]] = {
    ".gif": _write_gif,
    ".mp4": _write_mp4,
}


def write_animation(
    frames: np.ndarray,
    times: np.ndarray,
    matrix: Matrix,
    path: str | Path,
    fps: float = 10.0,
    regions: Iterable[Region] | None = None,
    *,
    speed: float = 1.0,
    title: str = "",
    max_gif_frames: int = 3000,
) -> Path:
    """Animate ``frames`` ``(n, rows, cols)`` recorded at ``times`` (s) to a .gif or .mp4.

    Plays at ``speed`` times real time with ``fps`` pictures per second. A GIF holds every
    picture in memory, so it stops at ``max_gif_frames``; MP4 streams to ffmpeg.
    """
    out = Path(path)
    writer = ANIMATION_WRITERS.get(out.suffix.lower())
    if writer is None:
        raise ExportError(f"cannot animate to {out.suffix or 'no suffix'!r}: use .gif or .mp4")
    if writer is _write_mp4 and shutil.which("ffmpeg") is None:
        raise ExportError("writing .mp4 needs ffmpeg on PATH; install it or write a .gif")
    raw, t = np.asarray(frames), np.asarray(times, dtype=np.float64)
    if raw.ndim != 3 or raw.shape[0] == 0 or t.shape != (raw.shape[0],):
        raise ExportError(f"an animation needs n frames and n times, not {raw.shape} and {t.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.diff(t) >= 0)):
        raise ExportError("animation times must be finite and in order")
    if fps <= 0 or speed <= 0:
        raise ExportError(f"fps and speed must be positive, not {fps} and {speed}")
    pick, has_data, t_out = schedule(t, fps, speed)
    if writer is _write_gif and pick.size > max_gif_frames:
        raise ExportError(f"{pick.size} GIF pictures is more than {max_gif_frames}: raise the "
                          "speed, lower fps, choose a shorter span, or write .mp4")
    painter = _Painter(scaled(raw, matrix), matrix, regions, title)
    pictures = (painter.paint(int(i), float(ts), bool(ok))
                for i, ok, ts in zip(pick, has_data, t_out, strict=True))
    try:
        writer(pictures, painter, out, fps)
    except OSError as err:
        raise ExportError(f"cannot write {out}: {err.strerror or err}") from err
    return out
