"""``sotlog calibrate``, ``calibrations``, ``record --tare``, ``show`` checks and ``recalibrate``,
end to end on the simulator and a real store file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dashboard.cli import main
from firmware_bridge.sim import loadcell_model
from sensing.store.sessions import Store

G = 9.80665
STEPS = ("sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=20&drift=0"
         "&load=steps:{levels}&hold=2")
SESSION = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=4&session=20"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_calibrate_record_show_recalibrate_export(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.sqlite3")
    url = STEPS.format(levels="0,5,10,20")
    code, out, err = run(capsys, "calibrate", "--port", url, "--profile", "sim-loadcells",
                         "--yes", "--by", "AB", "--store", db)
    assert code == 0, err
    assert out.split() == ["1", "2"]
    assert "left: settled: " in err and " ± " in err and "over 1.0 s (80 frames)" in err
    assert "non-linearity" in err and "% FS" in err

    code, out, _ = run(capsys, "calibrations", "--json", "--store", db)
    records = json.loads(out)
    assert [(r["id"], r["channel"], r["by"], len(r["points"])) for r in records] == [
        (2, "right", "AB", 4), (1, "left", "AB", 4)]
    model = loadcell_model(url)
    left = records[1]["fit"]
    assert G / left["coef"][1] == pytest.approx(model.gain[0], rel=1e-3)
    assert left["zero_raw"] == pytest.approx(model.offset[0], abs=40)

    code, out, err = run(capsys, "record", "--port", SESSION, "--profile", "sim-loadcells",
                         "--duration", "1.2", "--tare", "--tare-seconds", "0.2",
                         "--body-weight", "70", "--store", db)
    assert code == 0, err
    sid = out.strip()
    assert "using calibration 1 for left" in err and "tare over" in err

    code, out, _ = run(capsys, "show", sid, "--json", "--store", db)
    shown = json.loads(out)
    conv = shown["conversion"]
    assert conv["calibration"]["ids"] == [1, 2]
    assert conv["calibration"]["channels"]["left"]["residuals_n"]
    (zero,) = conv["tare"]  # taken before the start: one zero for the whole session
    assert zero["from_s"] is None and set(zero["offsets"]) == {"left", "right"}
    tare = next(e for e in shown["events"] if e["kind"] == "tare")
    assert tare["data"]["offsets"] == zero["offsets"]
    assert set(tare["data"]["sd"]) == {"left", "right"} and tare["time_s"] < 0
    assert [z["text"].split(":")[0] for z in shown["zeros"]] == ["from the start to the end"]
    rows = {r["channel"]: r for r in shown["checks"]}
    assert rows["left"]["zero"] == "tare" and rows["left"]["calibration"]["id"] == 1
    assert rows["right"]["saturation"]["frames"] == 0
    code, out, _ = run(capsys, "show", sid, "--units", "kgf", "--store", db)
    assert "ZERO BEFORE kgf" in out and "1 (linear, 0 d" in out
    assert "on the blocks together" in out and "% of body weight" in out

    code, out, err = run(capsys, "calibrate", "--port", STEPS.format(levels="0,10,20"),
                         "--profile", "sim-loadcells", "--yes", "--weights", "0,10,20",
                         "--fit", "quadratic", "--channel", "left", "--store", db)
    assert code == 0, err
    assert out.split() == ["3"]
    store = Store.open(db)
    before = store.session(int(sid))
    raw_before, n_before = before.frames(), before.samples("N")
    code, out, err = run(capsys, "recalibrate", sid, "--calibration", "3", "--json",
                         "--store", db)
    assert code == 0, err
    result = json.loads(out)
    assert result["old_calibration_ids"] == [1, 2] and result["new_calibration_ids"] == [3, 2]
    after = store.session(int(sid))
    for name in ("values", "host_time", "device_time", "seq", "flags"):
        assert getattr(after.frames(), name).tobytes() == getattr(raw_before, name).tobytes()
    spec = after.info.conversion["calibration"]["channels"]["left"]
    assert spec["id"] == 3 and spec["fit"] == "quadratic"
    x = raw_before.values[:, 0] - after.info.conversion["tare"][0]["offsets"]["left"]
    predicted = np.polynomial.polynomial.polyval(x, spec["coef"])
    n_after = after.samples("N")
    assert np.allclose(n_after.values[:, 0], predicted)
    assert np.array_equal(n_after.values[:, 1], n_before.values[:, 1])  # right kept its own
    (event,) = [e for e in after.events() if e.kind == "calibration" and "old_ids" in e.data]
    assert event.data == {"old_ids": [1, 2], "new_ids": [3, 2]} and "unchanged" in event.text

    code, out, err = run(capsys, "export", sid, "--format", "csv", "-o",
                         str(tmp_path / "out"), "--store", db)
    assert code == 0, err
    sidecar = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert sidecar["calibration"]["calibration"]["channels"]["left"]["residuals_n"]


def test_bad_requests_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.sqlite3")
    url = STEPS.format(levels="0,5")
    code, _, err = run(capsys, "calibrate", "--port", url, "--profile", "sim-loadcells",
                       "--weights", "5", "--yes", "--store", db)
    assert code == 2 and "at least 2 different known loads" in err
    code, _, err = run(capsys, "calibrate", "--port", url, "--profile", "sim-loadcells",
                       "--weights", "0,5", "--channel", "middle", "--yes", "--store", db)
    assert code == 2 and "no channel 'middle'" in err and err.count("\n") == 1
    code, _, err = run(capsys, "recalibrate", "1", "--calibration", "9", "--store", db)
    assert code == 2 and "no session 1" in err
    code, out, _ = run(capsys, "calibrations", "--store", db)
    assert "no calibrations stored yet" in out


def test_prompts_wait_for_enter(tmp_path: Path) -> None:
    url = ("sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=2&drift=0"
           "&load=steps:0,5&hold=2")
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "calibrate", "--port", url, "--profile",
         "sim-loadcells", "--weights", "0,5", "--channel", "left", "--store",
         str(tmp_path / "s.sqlite3")], input="\n\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "take every weight off the left block (channel left), then press Enter" in proc.stderr
    assert "place 5 kg on the left block (channel left), then press Enter" in proc.stderr
    cal = Store.open(tmp_path / "s.sqlite3")
    from sensing.store.calibrations import CalibrationStore

    (rec,) = CalibrationStore(cal).all()
    model = loadcell_model(url)
    assert rec.points[1].raw_mean == pytest.approx(model.offset[0] + 5 * model.gain[0], abs=40)
