"""The command line on a mat session: record, show, export, reparse, plot kinds, regions, import."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashboard.cli import main
from sensing.store.sessions import Store

REPO = Path(__file__).resolve().parents[3]
KITRONYX = REPO / "fixtures/real/kitronyx_48x48_adc.csv"
HX711 = REPO / "fixtures/real/hx711_arduino_9600_log22.csv"
MAT_URL = "sim://mat?rows=32&cols=32&rate=30&seed=1&speed=4"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One simulated mat recording through `sotlog record`, shared by the tests below."""
    store = tmp_path_factory.mktemp("cli-mat") / "s.sqlite3"
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        code = main(["record", "--port", MAT_URL, "--profile", "sim-mat", "--duration", "1.5",
                     "--subject", "P-0100", "--store", str(store)])
    assert code == 0, said.getvalue()
    return store, Store.open(store).sessions()[0].id


def test_show_reads_a_mat_session_like_a_load_cell_session(recorded, capsys) -> None:
    store, sid = recorded
    code, out, _ = run(capsys, "show", str(sid), "--store", str(store))
    assert code == 0
    table = {line.split()[0]: line.split() for line in out.splitlines() if line[:1].isalpha()}
    assert {"left", "right", "total"} <= set(table) and "raw" in table["left"]
    code, out, _ = run(capsys, "show", "last", "--json", "--store", str(store))
    summary = json.loads(out)["summary"]
    assert [c["name"] for c in summary["channels"]] == ["left", "right", "total"]
    assert summary["frames"] > 100


SHOW_ALONE = """
import json, sys
from dashboard.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("matplotlib", "PIL", "pandas"))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.mark.parametrize("json_out", [False, True])
def test_show_of_a_mat_draws_nothing_and_imports_no_plotting(recorded, json_out) -> None:
    store, sid = recorded
    argv = ["show", str(sid), "--store", str(store), *(["--json"] if json_out else [])]
    done = subprocess.run([sys.executable, "-c", SHOW_ALONE, *argv], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    said = json.loads(done.stderr.strip().splitlines()[-1])
    assert said == {"code": 0, "heavy": []}
    if json_out:
        assert json.loads(done.stdout)["summary"]["frames"] > 100
    else:
        assert "regions     found on the mean frame" in done.stdout
        assert "CoP         x mean" in done.stdout


def test_export_and_reparse(recorded, capsys, tmp_path: Path) -> None:
    store, sid = recorded
    code, out, _ = run(capsys, "export", str(sid), "--format", "csv", "-o", str(tmp_path),
                       "--store", str(store))
    assert code == 0
    with open(out.splitlines()[0], newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][-3:] == ["left_raw", "right_raw", "total_raw"]
    assert len(rows) - 1 == Store.open(store).session(sid).info.n_frames
    code, out, _ = run(capsys, "reparse", str(sid), "--store", str(store))
    assert code == 0 and "identical" in out


@pytest.mark.parametrize("kind", ["force", "heatmap", "mean", "cop"])
def test_still_kinds(recorded, capsys, tmp_path: Path, kind: str) -> None:
    store, sid = recorded
    out_file = tmp_path / f"{kind}.png"
    code, out, err = run(capsys, "plot", str(sid), "--kind", kind, "-o", str(out_file),
                         "--store", str(store))
    assert code == 0, err
    assert out.strip() == str(out_file) and out_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmap_at_a_time_and_mean_of_a_span(recorded, capsys, tmp_path: Path) -> None:
    store, sid = recorded
    code, _, err = run(capsys, "plot", str(sid), "--kind", "heatmap", "--at", "0.7", "-o",
                       str(tmp_path / "h.svg"), "--store", str(store))
    assert code == 0, err
    session = Store.open(store).session(sid)
    before = session.frames(None, 0.7 + 1e-9)
    shown = before.host_time[-1] - session.info.t0_host  # the last frame at or before 0.7 s
    assert f"frame at {shown:.2f} s" in (tmp_path / "h.svg").read_text()
    code, _, err = run(capsys, "plot", str(sid), "--kind", "mean", "--from", "0.5", "--to", "1",
                       "-o", str(tmp_path / "m.svg"), "--store", str(store))
    assert code == 0, err
    n = len(session.frames(0.5, 1.0))
    assert f"mean of {n} frames" in (tmp_path / "m.svg").read_text()


def test_animation_gif_and_mp4(recorded, capsys, tmp_path: Path, monkeypatch) -> None:
    store, sid = recorded
    gif = tmp_path / "a.gif"
    code, _, err = run(capsys, "plot", str(sid), "--kind", "animation", "--from", "0.2", "--to",
                       "1.0", "--fps", "10", "--speed", "0.5", "-o", str(gif),
                       "--store", str(store))
    assert code == 0, err
    with Image.open(gif) as im:
        assert im.n_frames >= 14  # 0.8 s of frames at half speed, 10 pictures per second
    monkeypatch.setenv("PATH", "")
    code, _, err = run(capsys, "plot", str(sid), "--kind", "animation", "-o",
                       str(tmp_path / "a.mp4"), "--store", str(store))
    assert code == 2 and "ffmpeg" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, says", [
    (["--kind", "heatmap", "-o", "x.gif"], "writes .png"),
    (["--kind", "animation", "-o", "x.png"], "writes .gif"),
    (["--kind", "heatmap", "--from", "1", "-o", "x.png"], "--from do(es) not apply"),
    (["--kind", "force", "--at", "1", "-o", "x.png"], "--at do(es) not apply"),
    (["--kind", "mean", "--from", "2", "--to", "1", "-o", "x.png"], "must be after"),
])
def test_plot_option_errors_are_one_line(recorded, capsys, tmp_path, argv, says) -> None:
    store, sid = recorded
    argv = [a if a[:2] != "x." else str(tmp_path / a) for a in argv]
    code, _, err = run(capsys, "plot", str(sid), *argv, "--store", str(store))
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1


def test_person_regions_are_used_by_export(recorded, capsys, tmp_path: Path) -> None:
    store, sid = recorded
    code, out, err = run(capsys, "regions", str(sid), "--set", "left=18:28:4:14",
                         "--json", "--store", str(store))
    assert code == 0, err
    facts = json.loads(out)
    assert facts["regions_from"] == "person"
    left = next(r for r in facts["regions"] if r["name"] == "left")
    assert (left["r0"], left["r1"], left["c0"], left["c1"], left["source"]) == (
        18, 28, 4, 14, "person")
    try:
        code, out, _ = run(capsys, "export", str(sid), "-o", str(tmp_path), "--store", str(store))
        with open(out.splitlines()[0], newline="") as fh:
            rows = list(csv.DictReader(fh))
        frames = Store.open(store).session(sid).frames().values.astype(np.float64)
        want = frames[:, 18:28, 4:14].sum(axis=(1, 2))  # sim-mat: raw units, threshold 0
        got = np.array([float(r["left_raw"]) for r in rows])
        np.testing.assert_array_equal(got, want)
        code, _, err = run(capsys, "regions", str(sid), "--set", "right=20:30:10:20",
                           "--store", str(store))
        assert code == 2 and "overlap" in err
    finally:
        code, out, _ = run(capsys, "regions", str(sid), "--auto", "--store", str(store))
    assert code == 0 and "found on the mean frame" in out
    edits = Store.open(store).session(sid).edits()
    assert [e.field for e in edits] == ["conversion", "conversion"]


def test_import_then_every_face(capsys, tmp_path: Path) -> None:
    store = tmp_path / "imp.sqlite3"
    code, out, err = run(capsys, "import", str(KITRONYX), "--profile", "kitronyx-48x48-log",
                         "--subject", "P-0200", "--position", "prone", "--store", str(store))
    assert code == 0, err
    sid = out.strip()
    assert "14 frames" in err and "device clock" in err
    code, out, _ = run(capsys, "reparse", sid, "--store", str(store))
    assert code == 0 and "identical: 14 frames" in out
    code, out, _ = run(capsys, "show", sid, "--store", str(store))
    assert code == 0 and "imported file kitronyx_48x48_adc.csv" in out
    code, _, err = run(capsys, "plot", sid, "--kind", "heatmap", "-o", str(tmp_path / "k.png"),
                       "--store", str(store))
    assert code == 0, err


def test_a_load_cell_session_asked_for_a_mat_picture(capsys, tmp_path: Path) -> None:
    store = tmp_path / "lc.sqlite3"
    code, out, _ = run(capsys, "import", str(HX711), "--profile", "hx711-arduino-1ch",
                       "--store", str(store))
    assert code == 0
    for kind in ("heatmap", "mean", "cop"):
        code, _, err = run(capsys, "plot", out.strip(), "--kind", kind, "-o",
                           str(tmp_path / "x.png"), "--store", str(store))
        assert code == 2 and "load-cell session" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "regions", "last", "--store", str(store))
    assert code == 2 and "load-cell session" in err
    code, _, _ = run(capsys, "plot", "last", "-o", str(tmp_path / "f.png"), "--store", str(store))
    assert code == 0 and (tmp_path / "f.png").exists()
