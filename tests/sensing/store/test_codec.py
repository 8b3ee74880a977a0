"""The store's column codecs: exact whatever they hold, integer times where they are whole, zstd
or zlib read back alike, and rows of format 1 (a store written before) read as they were, on the
station's store and, synced as they are, on the shared store (the ``backend`` fixture)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import zstandard

from firmware_bridge import native
from firmware_bridge.frames import FrameBlock
from sensing.store import codec, packing
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from tests.sensing.store.backend import Backend

REPO = Path(__file__).resolve().parents[3]
FORMAT_1 = REPO / "fixtures" / "stores" / "format1.sqlite3"


def test_the_fast_extra_is_what_the_tests_write_with() -> None:
    """The test extra installs it, so the faster writers are the ones the suite exercises."""
    assert packing._deflater is not zlib
    assert packing.zstd is not None and packing.compressor() == "zstd"


def cells(n: int = 500, host_step: float = 1 / 80) -> FrameBlock:
    """Load cells as the bridge stamps them: host times in whole microseconds, device times in
    milliseconds times 1e-3, counts sent as text (whole floats)."""
    rng = np.random.default_rng(3)
    host = (12_345_678_901 + np.cumsum(rng.integers(11_000, 14_000, n))) * 1e-6
    ms = 40_000 + np.round(np.arange(n) * host_step * 1000).astype(np.int64)
    return FrameBlock.build(rng.integers(-200_000, 200_000, (n, 2)).astype(np.float64), host,
                            device_time=ms * 1e-3, seq=np.arange(n))


def test_whole_units_are_stored_as_integer_deltas() -> None:
    row = codec.encode_chunk(cells())
    assert json.loads(row["codecs"]) == {
        "host_time": "micro-delta-zstd", "device_time": "milli-delta-zstd",
        "seq": "delta-zigzag-shuffle-zstd", "flags": "delta-zigzag-shuffle-zstd"}
    assert row["codec"] == "whole-delta-zstd"
    back = codec.decode_chunk(row)
    for name in ("values", "host_time", "device_time", "seq", "flags"):
        a, b = getattr(back, name), getattr(cells(), name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name


@pytest.mark.parametrize("times", [
    np.arange(100) / 80 + 1e-7,  # not whole in any unit: a float codec, never rounded
    np.r_[np.arange(50) * 1e-3, np.nan, np.arange(49) * 1e-3],  # no clock for one frame
    np.r_[-0.0, np.arange(1, 100) * 1.0],  # -0.0 is not 0
    np.r_[np.arange(99) * 1.0, 2.0 ** 70],  # beyond int64
])
def test_a_column_not_whole_in_a_unit_keeps_its_floats(times: np.ndarray) -> None:
    name, blob = codec.encode(times)
    assert name == "shuffle-zstd"
    assert codec.decode(name, blob, "<f8", times.shape).tobytes() == times.tobytes()


def test_a_codec_that_cannot_hold_the_values_says_so() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        codec.encode(np.arange(10) / 3, "milli-delta-zstd")
    with pytest.raises(ValueError, match="unknown chunk codec 'lz4'"):
        codec.decode("lz4", b"", "<f8", (0,))


@pytest.mark.parametrize("shape", [(2,), (16, 16)])
def test_zlib_and_zstd_chunks_read_back_alike(shape: tuple[int, ...],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 500
    dtype = np.float64 if len(shape) == 1 else np.uint16
    block = FrameBlock.build(rng.integers(0, 4000, (n, *shape)).astype(dtype),
                             100.0 + np.arange(n) / 80, device_time=np.arange(n) / 80,
                             seq=np.arange(n))
    zstd = codec.encode_chunk(block)
    monkeypatch.setattr(packing, "zstd", None)  # as without the `fast` extra
    plain = codec.encode_chunk(block)
    assert plain["codec"].endswith("-zlib") and zstd["codec"].endswith("-zstd")
    monkeypatch.undo()
    for row in (zstd, plain):
        back = codec.decode_chunk(row)
        for name in ("values", "host_time", "device_time", "seq", "flags"):
            np.testing.assert_array_equal(getattr(back, name), getattr(block, name))


def test_raw_reads_round_trip() -> None:
    rng = np.random.default_rng(5)
    reads = [(rng.bytes(int(k)), (10**9 + i * 12_500 + int(rng.integers(0, 900))) * 1e-6)
             for i, k in enumerate(rng.integers(1, 40, 300))]
    data, starts, arrival = codec.joined(reads)
    row = codec.encode_raw_reads(data, starts, arrival, gather=True)
    assert json.loads(row["codecs"])["arrival"] == "micro-delta-zstd"
    assert [(t, d) for d, t in reads] == codec.decode_raw(row)


def old_store(tmp_path: Path) -> Store:
    """The fixture store of format 1 (a load-cell and a mat session recorded by sotlog before
    rows named their codecs, and before the bridge read a line in one read), migrated in place."""
    path = tmp_path / "format1.sqlite3"
    shutil.copyfile(FORMAT_1, path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        assert conn.execute("SELECT DISTINCT format_version FROM sessions").fetchall() == [(1,)]
    return Store.open(path)


def test_a_store_of_format_1_reads_and_reparses_as_it_was(tmp_path: Path,
                                                          backend: Backend) -> None:
    local = old_store(tmp_path)
    with sqlite3.connect(local.path) as conn:
        assert {r for (r,) in conn.execute(
            "SELECT codecs FROM chunks UNION SELECT codecs FROM raw")} == {""}
    store = backend.store(local)  # its rows synced as they are
    for sid, frames in ((1, 241), (2, 51)):
        with store.session(sid) as s:
            block = s.frames()
            assert len(block) == frames == s.info.n_frames
            assert np.all(np.diff(block.host_time) >= 0)
            reads = list(s.raw())
            assert sum(len(d) for _, d in reads) == s.info.counters["stored_raw_bytes"]
            result = reparse(s)
            assert result.identical and result.decoded_frames == frames, result.detail


def test_reading_zstd_without_the_extra_is_one_line(tmp_path: Path, backend: Backend) -> None:
    """A store written with zstd, read where zstandard is not installed: one line naming the
    extra to install, not a traceback nor "damaged"."""
    store = old_store(tmp_path)
    with sqlite3.connect(store.path) as conn:
        row = conn.execute("SELECT * FROM chunks WHERE session_id = 1").fetchone()
        names = [d[0] for d in conn.execute("SELECT * FROM chunks").description]
        block = codec.decode_chunk(dict(zip(names, row, strict=True)))
        new = codec.encode_chunk(block)
        conn.execute("UPDATE chunks SET codec = ?, vals = ?, codecs = ? WHERE session_id = 1",
                     (new["codec"], new["vals"], new["codecs"]))
    where = backend.store(store).url or str(store.path)
    script = ("import sys; sys.modules['zstandard'] = None\n"
              "from dashboard.cli import main\n"
              f"sys.exit(main(['show', '1', '--store', {where!r}]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                          timeout=60)
    assert done.returncode != 0
    said = done.stderr.strip().splitlines()
    assert len(said) == 1 and "sotlog[fast]" in said[0], done.stderr


@pytest.mark.parametrize("c", [True, False], ids=["C", "numpy"])
def test_raw_text_as_nibbles_reads_back_in_c_and_in_numpy(c: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``pack_raw`` of a text block and of one of every byte value, read back by the C pass or
    by numpy (a station built without a C compiler); a blob nibbles did not make is refused."""
    rng = np.random.default_rng(2)
    text = b"".join(b"%d,%d\r\n" % (i, v) for i, v in enumerate(rng.integers(-9999, 9999, 999)))
    packed = [packing.pack_raw(data) for data in (text, text[:-1], bytes(range(256)) * 3)]
    assert [name for name, _ in packed] == ["nibbles-zstd", "nibbles-zstd", "zlib"]
    if not c:
        monkeypatch.setattr(native, "ctext", None)
    for (name, blob), data in zip(packed, (text, text[:-1], bytes(range(256)) * 3), strict=True):
        assert packing.unpack_bytes(name, blob) == data
    for bad in (b"\x00\x00", b"\x11" + bytes(17), b"\x02ab\x02\x10", b"\x02ab\x01"):
        with pytest.raises(ValueError):
            packing.unpack_bytes("nibbles-zstd", zstandard.ZstdCompressor().compress(bad))
