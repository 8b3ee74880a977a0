"""``sotlog show`` gives the descriptive measures, in text and JSON, with their windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard.cli import main
from sensing.store.sessions import Store
from tests.sensing.outputs.reportsession import report_session


def test_show_gives_the_measures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    sid = report_session(store, tmp_path)
    assert main(["show", str(sid), "--json", "--store", str(store.path)]) == 0
    got = json.loads(capsys.readouterr().out)["measures"]
    assert [w["key"] for w in got["windows"]] == ["session", "on_blocks"]
    assert got["windows"][1]["spans"] == [[10.0, 60.0]]
    si = [m for m in got["measures"] if m["name"] == "symmetry index"]
    assert [(m["window"], m["unit"], m["formula"]) for m in si] == [
        ("session", "%", "symmetry"), ("on_blocks", "%", "symmetry")]
    assert si[1]["value"] == pytest.approx((260 - 300) / (0.5 * 560) * 100)
    assert "(R - L) / (0.5 * (R + L)) * 100" in got["formulas"]["symmetry"]

    assert main(["show", str(sid), "--units", "kgf", "--store", str(store.path)]) == 0
    text = capsys.readouterr().out
    assert "measures    on the blocks: placed 10.0 s to removed 60.0 s" in text
    assert "WHOLE SESSION  ON THE BLOCKS" in text
    row = next(line for line in text.splitlines() if "c1 (left)" in line and " mean " in line)
    assert row.split()[3:6] == ["kgf", "21.62", "30.59"]  # 212 N, 300 N in kgf, to 0.01 kgf
    assert "symmetry index: (R - L) / (0.5 * (R + L)) * 100" in text
