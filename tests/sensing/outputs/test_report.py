"""The one-page report: one page whatever the session holds, every measure with its unit, no
claim word; read back with poppler's own tools (pdfinfo, pdftotext, pdftoppm)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dashboard.cli import main
from sensing.metrics.measures import session_measures
from sensing.outputs.report import write_report
from sensing.outputs.reportdata import gather, report_config
from sensing.store.sessions import Store
from sensing.vocabulary import INTENDED_USE, MAX_BLOCKS, MAX_NOTE_CHARS
from tests.sensing.outputs.reportsession import report_session
from tests.test_neutral_language import claims

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "reports"


def poppler(tool: str, *args: str) -> str:
    """Run a poppler tool; missing is a failure (.ci/run installs poppler-utils), not a skip."""
    exe = shutil.which(tool)
    assert exe, f"{tool} is not installed: apt-get install poppler-utils (.ci/run does)"
    return subprocess.run([exe, *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def pages(pdf: Path) -> int:
    found = re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(pdf)), re.MULTILINE)
    assert found
    return int(found.group(1))


def text_of(pdf: Path) -> str:
    return poppler("pdftotext", "-layout", str(pdf), "-")


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "sessions.sqlite3")


def test_one_page_with_the_header_every_measure_and_no_claim(store: Store,
                                                             tmp_path: Path) -> None:
    sid = report_session(store, tmp_path)
    pdf = tmp_path / "r.pdf"
    assert main(["report", str(sid), "-o", str(pdf), "--store", str(store.path)]) == 0
    assert pages(pdf) == 1
    text = text_of(pdf)
    words = flat(text)
    assert "P-0042" in words
    assert "prone" in words and "category II" in words and "short-leg side left" in words
    assert store.session(sid).info.uuid in words
    assert flat(INTENDED_USE) in words
    assert "calibration 7 (linear fit" in words and "RMS residual 0.42 N" in words
    assert "1 marked by the device link (2.0 s in all)" in words
    assert "undecodable 3" in words and "zero drift" in words
    m = session_measures(store.session(sid))
    lines = [flat(line) for line in text.splitlines()]
    for label, name, unit, _, by in m.rows():
        row = [line for line in lines if line.startswith(f"{label} {name} ")]
        assert row, f"no row for {label} {name}"
        for w in by.values():  # each value with its unit, or in a row whose name gives it
            if w.value is None:
                continue
            number = f"{w.value:.{w.digits}f}"
            shown = number if name.endswith(f"({unit})") else f"{number} {unit}"
            assert shown in row[0], (row[0], w)
    assert "force oscillation (cycles/min)" in words
    assert not claims(text), claims(text)


@pytest.mark.parametrize("blocks", [4, MAX_BLOCKS])
def test_one_page_with_40_events_long_notes_and_4_blocks(store: Store, tmp_path: Path,
                                                         blocks: int) -> None:
    note = "A long note about the set-up of the table and the room. " * 36  # ~2000 characters
    sid = report_session(store, tmp_path, blocks=blocks, events=40, note=note[:MAX_NOTE_CHARS])
    for paper in ("a4", "letter"):
        pdf = tmp_path / f"busy-{paper}.pdf"
        assert main(["report", str(sid), "-o", str(pdf), "--paper", paper,
                     "--store", str(store.path)]) == 0
        assert pages(pdf) == 1
        words = flat(text_of(pdf))
        assert "more characters in the stored note" in words  # cut, and saying so
        assert "marker 40" in words and f"c{blocks} (right)" in words
        assert "symmetry index" in words and "force oscillation amplitude" in words
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / f"report-busy-{blocks}-blocks-a4"
    poppler("pdftoppm", "-png", "-r", "110", "-singlefile", str(tmp_path / "busy-a4.pdf"),
            str(png))
    assert png.with_suffix(".png").stat().st_size > 20_000


def test_the_artifact_of_an_ordinary_session(store: Store, tmp_path: Path) -> None:
    sid = report_session(store, tmp_path)
    pdf = write_report(gather(store.session(sid), config={"clinic": "Example Clinic",
                                                          "practitioner": "AB"}),
                       tmp_path / "r.pdf")
    words = flat(text_of(pdf))
    assert "Example Clinic" in words and "practitioner AB" in words
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    poppler("pdftoppm", "-png", "-r", "110", "-singlefile", str(pdf),
            str(ARTIFACTS / "report-a4"))
    assert (ARTIFACTS / "report-a4.png").stat().st_size > 20_000


def test_all_writes_one_report_per_matching_session(store: Store, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    first = report_session(store, tmp_path, subject="P-0001")
    report_session(store, tmp_path, subject="P-0002")
    out = tmp_path / "reports"
    assert main(["report", "--all", "--subject", "P-0001", "-o", str(out),
                 "--store", str(store.path)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"session-{first}_P-0001_report.pdf"]
    assert main(["report", "--all", "-o", str(out), "--store", str(store.path)]) == 2
    assert "already there" in capsys.readouterr().err


def test_bad_input_is_one_line(store: Store, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    sid = report_session(store, tmp_path)
    assert main(["report", str(sid), "-o", str(tmp_path / "r.png"),
                 "--store", str(store.path)]) == 2
    assert capsys.readouterr().err.strip() == f"sotlog: error: report file must end in .pdf: " \
                                              f"{tmp_path / 'r.png'}"
    bad = tmp_path / "report.toml"
    bad.write_text('clinic = "X"\ncolour = "blue"\n')
    monkeypatch.setenv("SOTLOG_REPORT_CONFIG", str(bad))
    assert main(["report", str(sid), "-o", str(tmp_path / "r.pdf"),
                 "--store", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'colour'" in err
    bad.write_text('clinic = "Example Clinic"\npractitioner = "AB"\n')
    assert report_config() == {"clinic": "Example Clinic", "practitioner": "AB"}


def test_a_mat_session_reports_its_mat_measures(store: Store, tmp_path: Path) -> None:
    import numpy as np

    from firmware_bridge.frames import Counters, FrameBlock
    from firmware_bridge.profiles import load_profile
    from sensing.metadata import SessionMeta
    from sensing.store.writer import Recorder

    sid = store.create_session(SessionMeta(subject_code="P-0007", position="supine"),
                               load_profile("sim-mat"), t0_host=0.0)
    t = np.arange(0.0, 40.0, 0.1)
    frames = np.zeros((len(t), 32, 32), np.uint16)
    frames[:, 18:24, 6:12] = 900  # a left and a right pad
    frames[:, 18:24, 20:26] = 700
    frames[:, 20, 8] += (200 * (1 + np.sin(2 * np.pi * 0.2 * t))).astype(np.uint16)
    rec = Recorder(store, sid)
    rec.on_frames(FrameBlock.build(frames, t))
    rec.add_event("placed", "", host_time=2.0)
    rec.add_event("removed", "", host_time=38.0)
    rec.close("complete", counters=Counters(frames=len(t)))
    pdf = tmp_path / "mat.pdf"
    assert main(["report", str(sid), "-o", str(pdf), "--store", str(store.path)]) == 0
    assert pages(pdf) == 1
    words = flat(text_of(pdf))
    for shown in ("P-0007", "whole mat contact area", "cm²", "CoP path length", "mm/s",
                  "CoP 95 % ellipse area", "mm²", "peak sensel value", "left share"):
        assert shown in words, shown
    assert not claims(text_of(pdf))
