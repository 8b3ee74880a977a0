"""De-identification, missing optional extras, and exports that fail part way."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

from firmware_bridge.errors import ExportError
from sensing.outputs.exports import FORMATS, export_session, exporter
from sensing.outputs.exports.deid import (
    SHIFT_MAX_DAYS,
    SHIFT_MIN_DAYS,
    DateShift,
    check_labels,
    shift_dates,
    subject_label,
)
from sensing.store.sessions import Store
from tests.sensing.outputs.test_exports import NOTE, READERS, record_session


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store.open(tmp_path_factory.mktemp("store") / "sessions.sqlite3")


@pytest.fixture(scope="module")
def sid(store: Store) -> int:
    return record_session(store, "loadcells", n=200)


def _all_text(files: list[Path]) -> bytes:
    return b"".join(gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
                    for f in files)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_strip_notes_leaves_no_free_text(fmt: str, store: Store, sid: int, tmp_path: Path) -> None:
    session = store.session(sid)
    kept = export_session(session, fmt, tmp_path / "kept")
    stripped = export_session(session, fmt, tmp_path / "stripped", strip_notes=True)
    for secret in (b"private", b"there,"):  # the meta note, the note event (C3D escapes spaces)
        assert secret in _all_text(kept)
        assert secret not in _all_text(stripped)
    got = READERS[fmt](stripped)
    assert [t for _, _, t in got.events] == [""] * len(session.events())
    assert [k for _, k, _ in got.events] == [e.kind for e in session.events()]
    assert got.meta["session"]["note"] == ""
    assert got.meta["deidentification"]["notes_stripped"] is True


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_shift_dates_moves_every_date(fmt: str, store: Store, sid: int, tmp_path: Path) -> None:
    session = store.session(sid)
    days = DateShift("salt-1").days("P-0042")
    files = export_session(session, fmt, tmp_path, shift_days=days)
    got = READERS[fmt](files)
    info = session.info
    assert got.meta["session"]["started_utc"] != info.started_utc
    from datetime import datetime, timedelta

    start = datetime.fromisoformat(got.meta["session"]["started_utc"])
    assert start == datetime.fromisoformat(info.started_utc) + timedelta(days=days)
    created = [e["created_utc"] for e in got.meta["events"]]
    assert all(c[:10] != e.created_utc[:10] for c, e in zip(created, session.events(),
                                                             strict=True))
    assert got.meta["session"]["subject_code"] == "P-0042"
    assert got.meta["deidentification"]["dates_shifted"] is True
    text = _all_text(files)
    assert info.started_utc[:10].encode() not in text
    assert session.events()[0].created_utc[:10].encode() not in text


def test_date_shift_is_per_subject_and_fixed_by_the_salt() -> None:
    a, b = DateShift("s1"), DateShift("s2")
    codes = [f"P-{i:04d}" for i in range(200)]
    shifts = [a.days(c) for c in codes]
    assert all(-SHIFT_MAX_DAYS <= d <= -SHIFT_MIN_DAYS for d in shifts)
    assert len(set(shifts)) > 150  # subjects get their own shifts
    assert shifts == [DateShift("s1").days(c) for c in codes]  # same salt, same shifts
    assert sum(x != y for x, y in zip(shifts, (b.days(c) for c in codes), strict=True)) > 190
    assert DateShift.random().salt != DateShift.random().salt


def test_shift_dates_moves_every_date_in_any_text() -> None:
    obj = {"t": "2024-03-05T10:00:00.000+00:00", "d": "2024-03-05", "n": "1.0",
           "x": ["2024-12-31 23:59", "not 2024-03-05"], "v": 3,
           "file": "file:20240311T142511_AdcData-1d.csv", "num": "12345678", "seq": "202413990"}
    out = shift_dates(obj, -10)
    assert out == {"t": "2024-02-24T10:00:00.000+00:00", "d": "2024-02-24", "n": "1.0",
                   "x": ["2024-12-21 23:59", "not 2024-02-24"], "v": 3,
                   "file": "file:20240301T142511_AdcData-1d.csv", "num": "12345678",
                   "seq": "202413990"}


def test_subject_labels_are_alphanumeric_and_collisions_are_refused() -> None:
    assert subject_label("P-0042") == "P0042"
    assert subject_label("ab_c.9") == "abc9"
    assert subject_label(None) == "unknown"
    assert check_labels(["P-1", "Q-2", "P-1", None]) == {"P-1": "P1", "Q-2": "Q2", None: "unknown"}
    with pytest.raises(ExportError, match="both become BIDS label 'P1'"):
        check_labels(["P-1", "P.1"])


@pytest.mark.parametrize("fmt,module", [(k, v[0]) for k, v in FORMATS.items() if v[2]])
def test_missing_extra_names_what_to_install(fmt: str, module: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    library = {"parquet": "pyarrow", "hdf5": "h5py", "c3d": "ezc3d"}[fmt]
    monkeypatch.setitem(sys.modules, library, None)  # as if not installed
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ExportError) as err:
        exporter(fmt)
    message = str(err.value)
    assert "\n" not in message
    assert f"pip install 'sotlog[{FORMATS[fmt][2]}]'" in message
    assert library in message


def test_unknown_format_is_one_line() -> None:
    with pytest.raises(ExportError, match="unknown export format 'xls' \\(known: bids, c3d"):
        exporter("xls")


def test_a_failed_export_leaves_no_file(store: Store, sid: int, tmp_path: Path) -> None:
    session = store.session(sid)
    stem = f"session-{sid}_P-0042"
    (tmp_path / f"{stem}.json").mkdir()  # the sidecar cannot be renamed onto a folder
    with pytest.raises(OSError):
        export_session(session, "csv", tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{stem}.json"]  # csv removed again


def test_an_export_never_writes_over_a_file_unless_asked(store: Store, sid: int,
                                                          tmp_path: Path) -> None:
    first = export_session(store.session(sid), "csv", tmp_path)
    before = {f: f.read_bytes() for f in first}
    with pytest.raises(ExportError, match="already there: .* --force"):
        export_session(store.session(sid), "csv", tmp_path)
    assert {f: f.read_bytes() for f in first} == before
    assert export_session(store.session(sid), "csv", tmp_path, overwrite=True) == first
    with pytest.raises(ExportError, match="output folder is empty"):
        export_session(store.session(sid), "csv", "")


def test_note_text_survives_without_stripping(store: Store, sid: int, tmp_path: Path) -> None:
    files = export_session(store.session(sid), "bids", tmp_path)
    events = [f for f in files if f.name.endswith("_events.tsv")][0].read_text()
    assert "tab\\there, newline\\nthere, back\\\\slash" in events
    got = READERS["bids"](files)
    assert NOTE in [t for _, _, t in got.events]


def test_shift_dates_leaves_a_uuid_that_looks_like_a_date(store: Store, tmp_path: Path) -> None:
    from firmware_bridge.profiles import load_profile
    from sensing.metadata import SessionMeta
    from sensing.store.writer import Recorder

    uuid = "20231105-1111-4111-8111-111111111111"
    sid = store.create_session(SessionMeta(subject_code="P-0042"), load_profile("sim-loadcells"),
                               t0_host=0.0, uuid=uuid)
    Recorder(store, sid).close()
    got = READERS["csv"](export_session(store.session(sid), "csv", tmp_path, shift_days=-400))
    assert got.meta["session"]["uuid"] == uuid
    assert got.meta["deidentification"]["dates_shifted"] is True
