"""An imported session's start and end come from the log, not from when it was imported: as a
station's store and the shared store it syncs into (the ``backend`` fixture) read and export it."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.outputs.exports import export_session
from sensing.outputs.exports.deid import DateShift
from sensing.store.importer import import_file
from sensing.store.sessions import Store
from tests.sensing.store.backend import Backend

LOG = Path(__file__).resolve().parents[3] / "fixtures" / "real" / "hx711_arduino_9600_log22.csv"
NAMED = "20170311T142511_AdcData-1d.csv"  # a logger's dated file name


@pytest.fixture
def local(tmp_path: Path) -> Store:
    """The station's store, where logs are imported."""
    return Store.open(tmp_path / "sessions.sqlite3")


def test_end_is_start_plus_the_last_frame(local: Store, backend: Backend) -> None:
    result = import_file(local, LOG, load_profile("hx711-arduino-1ch"), SessionMeta(),
                         started_utc="2017-03-11T14:25:11.000+00:00")
    info = backend.store(local).session(result.session_id).info
    assert info.duration_s > 10
    assert info.started_utc == "2017-03-11T14:25:11.000+00:00"
    ended = datetime.fromisoformat(info.ended_utc or "")
    assert ended - datetime.fromisoformat(info.started_utc) == pytest.approx(
        timedelta(seconds=info.duration_s), abs=timedelta(milliseconds=1))


def test_without_a_start_the_log_ends_when_the_file_was_last_written(
        local: Store, backend: Backend, tmp_path: Path) -> None:
    copy = tmp_path / NAMED
    shutil.copyfile(LOG, copy)
    written = datetime.fromisoformat("2017-03-11T14:40:00+00:00")
    os.utime(copy, (written.timestamp(), written.timestamp()))
    result = import_file(local, copy, load_profile("hx711-arduino-1ch"), SessionMeta())
    info = backend.store(local).session(result.session_id).info
    assert datetime.fromisoformat(info.ended_utc or "") == written
    assert written - datetime.fromisoformat(info.started_utc) == pytest.approx(
        timedelta(seconds=info.duration_s), abs=timedelta(milliseconds=1))


def test_exports_keep_no_folder_and_shift_the_dated_name(local: Store, backend: Backend,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "clinic-smith" / "2017"
    folder.mkdir(parents=True)
    shutil.copyfile(LOG, folder / NAMED)
    result = import_file(local, folder / NAMED, load_profile("hx711-arduino-1ch"), SessionMeta(),
                         started_utc="2017-03-11T14:25:11.000+00:00")
    session = backend.store(local).session(result.session_id)
    days = DateShift("salt").days(None)
    for shift in (0, days):
        files = export_session(session, "csv", tmp_path / f"out{shift}", shift_days=shift)
        text = b"".join(f.read_bytes() for f in files)
        assert b"clinic-smith" not in text and str(tmp_path).encode() not in text
        assert (b"20170311T142511" in text) == (shift == 0)  # the name's date moves too
