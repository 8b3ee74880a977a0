"""``sotlog reparse`` compares window by window: a session of many windows is identical, and one
stored value changed anywhere is found, at its frame: on a station's store and on the shared
store it syncs into (the ``backend`` fixture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.profiles import parse_profile
from firmware_bridge.protocols.blockframe import encode_frame
from sensing.metadata import SessionMeta
from sensing.store import codec, read
from sensing.store.importer import import_file
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from tests.sensing.store.backend import Backend
from tests.sensing.store.test_import_bulk import FOUR, four_cell_log

MAT = """name = "mat-8"\nprotocol = "blockframe"\nnominal_rate_hz = 50\n[matrix]\nrows = 8
cols = 6\nraw_min = 0\nraw_max = 65535\ndtype = "uint16"\n"""


@pytest.fixture
def small_windows(monkeypatch) -> None:
    monkeypatch.setattr(read, "WINDOW_BYTES", 8 * 48 * 37)  # 37 mat frames, 444 of 4 cells


def change_one_value(store: Store, sid: int, frame: int) -> None:
    """Add one to one stored value of ``frame``, re-encoding its chunk as the recorder would."""
    conn = store.write_connection(shared_ok=True)
    row = conn.execute("SELECT * FROM chunks WHERE session_id = ? AND first_index <= ? "
                       "ORDER BY first_index DESC LIMIT 1", (sid, frame)).fetchone()
    block = codec.decode_chunk(row)
    block.values[frame - row["first_index"]].flat[1] += 1
    conn.execute("UPDATE chunks SET vals = ? WHERE session_id = ? AND first_index = ?",
                 (codec.encode_chunk(block)["vals"], sid, row["first_index"]))
    conn.close()


def test_a_text_log_of_many_windows(tmp_path: Path, small_windows, backend: Backend) -> None:
    local = Store.open(tmp_path / "s.sqlite3")
    path = tmp_path / "log.csv"
    path.write_bytes(four_cell_log(5000, seed=3))
    sid = import_file(local, path, parse_profile(FOUR, "four.toml"), SessionMeta()).session_id
    store = backend.store(local)
    s = store.session(sid)
    assert s.info.n_frames > 10 * read.window_frames(s.info.frame_shape)
    again = reparse(s)
    assert again.identical, again.detail
    assert again.counters["frames"] == again.stored_frames == s.info.n_frames
    assert {k: again.counters[k] for k in ("bytes", "undecodable_bytes", "cut_bytes")} == {
        k: s.info.counters[k] for k in ("bytes", "undecodable_bytes", "cut_bytes")}
    change_one_value(store, sid, 3001)
    changed = reparse(store.session(sid))
    assert not changed.identical and changed.first_difference == 3001
    assert changed.detail == f"different: frame 3001 of {s.info.n_frames} differs"


def test_a_mat_capture_of_many_windows(tmp_path: Path, small_windows, backend: Backend) -> None:
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 65535, (800, 8, 6)).astype(np.uint16)
    path = tmp_path / "mat.bin"
    path.write_bytes(b"".join(encode_frame(f, i, i * 20_000) for i, f in enumerate(frames)))
    local = Store.open(tmp_path / "s.sqlite3")
    sid = import_file(local, path, parse_profile(MAT, "mat.toml"), SessionMeta()).session_id
    store = backend.store(local)
    s = store.session(sid)
    assert s.info.dtype == "uint16" and s.info.n_frames == 800
    assert reparse(s).identical
    change_one_value(store, sid, 799)  # the very last frame, in the last window
    changed = reparse(store.session(sid))
    assert not changed.identical and changed.first_difference == 799


def test_frames_missing_from_the_store_are_a_difference(tmp_path: Path, small_windows,
                                                        backend: Backend) -> None:
    local = Store.open(tmp_path / "s.sqlite3")
    path = tmp_path / "log.csv"
    path.write_bytes(four_cell_log(2000, seed=8))
    sid = import_file(local, path, parse_profile(FOUR, "four.toml"), SessionMeta()).session_id
    store = backend.store(local)
    conn = store.write_connection(shared_ok=True)
    last = conn.execute("SELECT first_index, count FROM chunks WHERE session_id = ? "
                        "ORDER BY first_index DESC LIMIT 1", (sid,)).fetchone()
    conn.execute("DELETE FROM chunks WHERE session_id = ? AND first_index = ?", (sid, last[0]))
    conn.close()
    result = reparse(store.session(sid))
    assert not result.identical and result.first_difference == last[0]
    assert result.decoded_frames == result.stored_frames + last[1]
