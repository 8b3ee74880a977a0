"""Mat pictures are real files: PNG, SVG, PDF stills, GIF and MP4 animations."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import GifImagePlugin, Image

from firmware_bridge.errors import ExportError
from firmware_bridge.profiles import Matrix
from sensing.mat import Region, frame_measures, region_measures
from sensing.outputs.animation import NO_DATA, _palette, schedule
from sensing.outputs.matplots import plot_cop, plot_heatmap, plot_mean, write_animation

MATRIX = Matrix(rows=16, cols=20, pitch_mm=(10.0, 12.0), noise_threshold=2, unit="kPa",
                scale=0.5)
NO_DATA_RGB = tuple(int(v) for v in _palette()[NO_DATA])
REGIONS = [Region("left", 3, 10, 1, 7), Region("right", 4, 12, 11, 18)]


def frames(n: int = 30) -> np.ndarray:
    rng = np.random.default_rng(5)
    f = np.zeros((n, 16, 20))
    level = np.linspace(0.5, 1.5, n)[:, None, None]
    f[:, 3:10, 1:7] = 60 * level
    f[:, 4:12, 11:18] = 90
    return f + rng.integers(0, 2, size=f.shape)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_heatmap_writes_png_svg_and_pdf(tmp_path: Path) -> None:
    f = frames(1)[0]
    m = frame_measures(f, MATRIX)
    cop = (float(m.cop_x_mm[0]), float(m.cop_y_mm[0]))
    png = plot_heatmap(f, MATRIX, tmp_path / "h.png", REGIONS, cop=cop, title="frame 0")
    width, height = png_size(png)
    assert width >= 500 and height >= 250 and png.stat().st_size > 10_000
    svg = plot_heatmap(f, MATRIX, tmp_path / "h.svg", REGIONS)
    text = svg.read_text("utf-8")
    assert "<svg" in text[:500] and "sensel value (kPa)" in text
    assert "toward patient's left" in text and "HEAD" in text
    pdf = plot_heatmap(f, MATRIX, tmp_path / "h.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_mean_picture_draws_the_regions(tmp_path: Path) -> None:
    path = plot_mean(frames(), MATRIX, tmp_path / "mean.png", regions=REGIONS, title="P-0042")
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 220) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)
    assert red.sum() > 200  # the two region outlines
    without = plot_mean(frames(), MATRIX, tmp_path / "plain.png", show_cop=False)
    rgb = np.asarray(Image.open(without).convert("RGB")).astype(int)
    assert ((rgb[..., 0] > 220) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)).sum() == 0


def test_mean_picture_leaves_out_frames_with_missing_sensels(tmp_path: Path) -> None:
    f = frames()
    f[:, 0, 0] = np.nan
    with pytest.raises(ExportError, match="missing sensels"):
        plot_mean(f, MATRIX, tmp_path / "mean.svg")
    f[3:, 0, 0] = 1.0
    text = plot_mean(f, MATRIX, tmp_path / "mean.svg").read_text("utf-8")
    assert "mean of 27 frames (3 with missing sensels left out)" in text


def test_cop_over_time_is_a_picture(tmp_path: Path) -> None:
    f = frames()
    t = np.arange(len(f)) * 0.1
    series = {"mat": frame_measures(f, MATRIX), **region_measures(f, MATRIX, REGIONS)}
    svg = plot_cop(t, series, tmp_path / "cop.svg").read_text("utf-8")
    assert "time (s)" in svg and "toward head" in svg
    png = plot_cop(t, series["mat"], tmp_path / "cop.png")
    assert png_size(png)[0] >= 600
    with pytest.raises(ExportError, match="30 frames but 5 times"):
        plot_cop(t[:5], series, tmp_path / "bad.png")


def test_unknown_picture_suffix_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"use \.png, \.svg, \.pdf"):
        plot_heatmap(frames(1)[0], MATRIX, tmp_path / "h.bmp")
    with pytest.raises(ExportError, match=r"use \.gif or \.mp4"):
        write_animation(frames(), np.arange(30.0), MATRIX, tmp_path / "a.avi")
    assert not list(tmp_path.iterdir())


def test_schedule_shows_no_data_across_a_gap() -> None:
    t = np.concatenate([np.arange(10) * 0.1, 3.0 + np.arange(10) * 0.1])
    pick, has_data, t_out = schedule(t, fps=10, speed=1.0)
    assert t_out.size == 40 and t_out[-1] == pytest.approx(3.9)
    # the last frame before the gap is held for up to three frame intervals, then "no data"
    assert has_data[:12].all() and not has_data[13:30].any() and has_data[30:].all()
    assert pick[35] == 15  # the recorded frame at 3.5 s
    fast = schedule(t, fps=10, speed=4.0)[0]
    assert fast.size == 10


def test_gif_has_one_picture_per_output_frame(tmp_path: Path) -> None:
    f = frames(30)
    t = np.arange(30) * 0.1
    path = write_animation(f, t, MATRIX, tmp_path / "a.gif", fps=10, regions=REGIONS,
                           title="P-0042")
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    with Image.open(path) as im:
        assert isinstance(im, GifImagePlugin.GifImageFile)
        assert im.n_frames == 30
        first = np.asarray(im.convert("RGB")).copy()
        im.seek(29)
        last = np.asarray(im.convert("RGB"))
    assert (first != last).any()  # the left block's load rises over the session


def test_gif_shows_a_recording_gap_as_no_data(tmp_path: Path) -> None:
    t = np.concatenate([np.arange(15) * 0.1, 5.0 + np.arange(15) * 0.1])
    path = write_animation(frames(30), t, MATRIX, tmp_path / "gap.gif", fps=10)
    grey = np.array(NO_DATA_RGB)
    with Image.open(path) as im:
        assert isinstance(im, GifImagePlugin.GifImageFile)
        assert im.n_frames == 65
        before = (np.asarray(im.convert("RGB")) == grey).all(axis=2).sum()
        im.seek(35)  # 3.5 s: two seconds after the last frame before the gap
        during = (np.asarray(im.convert("RGB")) == grey).all(axis=2).sum()
    assert before < 500 < 10_000 < during  # a few anti-aliased label pixels share the grey


def test_gif_length_is_limited_to_what_fits_in_memory(tmp_path: Path) -> None:
    t = np.arange(30) * 10.0
    with pytest.raises(ExportError, match="291 GIF pictures"):
        write_animation(frames(), t, MATRIX, tmp_path / "a.gif", fps=1, max_gif_frames=100)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_mp4_through_ffmpeg(tmp_path: Path) -> None:
    path = write_animation(frames(), np.arange(30) * 0.1, MATRIX, tmp_path / "a.mp4", fps=10)
    assert path.read_bytes()[4:8] == b"ftyp"


def test_mp4_without_ffmpeg_is_one_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExportError, match="needs ffmpeg on PATH"):
        write_animation(frames(), np.arange(30) * 0.1, MATRIX, tmp_path / "a.mp4")


def test_pictures_leave_no_pyplot_state(tmp_path: Path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from firmware_bridge.profiles import Matrix\n"
        "from sensing.outputs.matplots import plot_heatmap, write_animation\n"
        "m = Matrix(rows=4, cols=4)\n"
        f"plot_heatmap(np.eye(4) * 9, m, {str(tmp_path / 'x.png')!r})\n"
        f"write_animation(np.ones((3, 4, 4)), np.arange(3.0), m, {str(tmp_path / 'x.gif')!r})\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
