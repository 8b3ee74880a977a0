"""`sotlog show/export/plot/reparse --store postgresql://…` say and write what they do on the
station's own SQLite store, for the same session (the shared store's ids are the station's here:
one station synced into a fresh database), apart from the station it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard.cli import main
from sensing.store.pg.sync import Sync
from sensing.store.sessions import Store
from sensing.store.storefile import StoreFile
from tests.sensing.store.test_backends import shared, station  # noqa: F401 (fixtures)

IDS = ["1", "4", "5"]  # a load-cell session with events and edits; imported cells; a mat


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


@pytest.mark.parametrize("sid", IDS)
def test_show_is_the_stations_show(sid: str, station: Path, shared: str,  # noqa: F811
                                   capsys: pytest.CaptureFixture[str]) -> None:
    here = run(capsys, "show", sid, "--store", str(station))
    there = run(capsys, "show", sid, "--store", shared)
    assert there.splitlines()[1] == "  station     room1"
    assert there.splitlines()[:1] + there.splitlines()[2:] == here.splitlines()
    here_json = json.loads(run(capsys, "show", sid, "--json", "--store", str(station)))
    there_json = json.loads(run(capsys, "show", sid, "--json", "--store", shared))
    assert there_json.pop("station") == "room1" and "station" not in here_json
    assert there_json == here_json
    assert here_json["events"] or here_json["summary"]["channels"]


def test_export_plot_and_reparse_are_the_stations(station: Path, shared: str,  # noqa: F811
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for sid in IDS:
        written = []
        for name, store in (("here", str(station)), ("there", shared)):
            out = tmp_path / name / sid
            run(capsys, "export", sid, "--format", "csv", "-o", str(out), "--store", store)
            written.append({p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))})
        assert written[0] == written[1] and written[0]
        pictures = [tmp_path / f"{sid}-{name}.png" for name in ("here", "there")]
        for picture, store in zip(pictures, (str(station), shared), strict=True):
            run(capsys, "plot", sid, "-o", str(picture), "--store", store)
        assert pictures[1].read_bytes()[:4] == b"\x89PNG"
        assert pictures[1].stat().st_size == pytest.approx(pictures[0].stat().st_size, rel=0.02)
    every = []
    for name, store in (("all-here", str(station)), ("all-there", shared)):
        run(capsys, "export", "--all", "--format", "csv", "-o", str(tmp_path / name),
            "--store", store)
        every.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).rglob("*.csv"))})
    assert every[0] == every[1] and len(every[0]) == 5
    for sid in ("4", "5"):  # those with raw capture
        assert json.loads(run(capsys, "reparse", sid, "--json", "--store", shared)) == \
            json.loads(run(capsys, "reparse", sid, "--json", "--store", str(station)))


def test_recording_into_the_shared_store_is_one_line(shared: str,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--port", "sim://loadcells", "--profile", "sim-loadcells",
                 "--duration", "1", "--store", shared]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is the shared store" in err


@pytest.mark.parametrize(("argv", "says"), [
    (["check"], "PostgreSQL checks its own"),
    (["sync", "--to", "{url}", "--station", "room9"], "a station records into its own SQLite"),
])
def test_a_station_file_command_on_the_shared_store_is_one_line(
        argv: list[str], says: str, shared: str,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*(a.format(url=shared) for a in argv), "--store", shared]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err, err


def test_detect_and_undo_edit_a_shared_session(station: Path, pg_url: str,  # noqa: F811
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "room1.sqlite3"  # detect changes the station's file: a copy of it
    local.write_bytes(station.read_bytes())
    assert Sync(StoreFile.open(local), pg_url, "room1").run().copied == 5
    Store.open(pg_url).update_meta(2, {"note": "seen centrally"}, reason="review")
    run(capsys, "undo", "2", "--store", pg_url)
    with Store.open(pg_url).session(2) as s:
        assert s.info.meta.note == "first" and [e.field for e in s.edits()] == ["note", "note"]
    found = json.loads(run(capsys, "detect", "1", "--json", "--store", pg_url))
    assert found == json.loads(run(capsys, "detect", "1", "--json", "--store", str(local)))
