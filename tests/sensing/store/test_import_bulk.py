"""``sotlog import`` decodes in blocks: the same frames, times, notices, counters and raw reads
as cutting the file into lines and feeding them one at a time (the way import worked before,
rebuilt here from the per-read rules: ``ArrivalClock.advance``, ``NoticeGate.add``/``tick``).
Import writes a station's store; some imports are also read back from the shared store it syncs
into (the ``backend`` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import native
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import Profile, load_profile, parse_profile
from firmware_bridge.protocols import make_decoder, read_size
from sensing.metadata import SessionMeta
from sensing.store import importer
from sensing.store.arrival import ArrivalClock, NoticeGate
from sensing.store.importer import import_file, probe_timing
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from tests.sensing.store.backend import Backend

FOUR = """name = "four"\nprotocol = "lines"\nnominal_rate_hz = 80\n[options]\ntime_column = 0
[[channels]]\nname = "a"\n[[channels]]\nname = "b"\n[[channels]]\nname = "c"
[[channels]]\nname = "d"\n"""
FOUR_NO_TIME = FOUR.replace("time_column = 0", 'header = "auto"')
ON_THE_STATION = Backend("sqlite")
KITRONYX = Path(__file__).resolve().parents[3] / "fixtures" / "real" / "kitronyx_48x48_adc.csv"


def four_cell_log(n: int, seed: int, time_column: bool = True, clock_back: bool = False) -> bytes:
    """A 4-cell CRLF log with what real captures hold: a partial first line, a header, garbage,
    blank lines, glued and short lines, lone CRs and LFs, a line cut at the end."""
    rng = np.random.default_rng(seed)
    millis = 1000 + np.cumsum(rng.choice([12, 13], n))
    if clock_back:
        millis[n // 2:] -= millis[n // 2] - 5
    counts = rng.integers(-200_000, 200_000, (n, 4))
    rows = [(f"{t}," if time_column else "") + ",".join(map(str, c))
            for t, c in zip(millis.tolist(), counts.tolist(), strict=True)]
    lines = [r + "\r\n" for r in rows]
    odd = ["garbage: sensor not ready\r\n", "\r\n", "\n", "12,34\r\n", "1,2,3,4,5,6,7\r\n",
           "millis,a,b,c,d\r\n", "9,8,7,6,5\r", "4,3,2,1,0\n", "\x00\xff\xfe\r\n", "-,1,2,3,4\r\n"]
    for _ in range(n // 40):
        at = int(rng.integers(3, len(lines)))
        lines.insert(at, odd[int(rng.integers(len(odd)))])
    head = "5,1,2,3,4\r\nmillis,a,b,c,d\r\n" if time_column else "a,b,c,d\r\n"
    text = head[3:] + "".join(lines) + rows[0][:7]
    return text.encode("latin-1")


def line_at_a_time(path: Path, profile: Profile) -> dict[str, Any]:
    """Import as it was: one read per line, each timed by the frames it completes (a second
    decoder says which, ahead), fed with that time; notices gated read by read."""
    data = path.read_bytes()
    size = read_size(profile)
    pieces = (data.splitlines(keepends=True) if size is None
              else [data[i:i + size] for i in range(0, len(data), size)])
    mode, rate = probe_timing(path, profile, None)
    clock = ArrivalClock(mode, rate)
    probe, decoder = make_decoder(profile), make_decoder(profile)
    notices: list[Notice] = []
    gate = NoticeGate(notices.append)
    frames, reads = [], []
    now = 0.0
    for piece in pieces:
        ahead = probe.feed(piece, 0.0).frames
        now = clock.advance(ahead.device_time if ahead is not None else np.empty(0))
        reads.append((now, piece))
        out = decoder.feed(piece, now)
        if out.frames is not None:
            frames.append(out.frames)
        for notice in out.notices:
            gate.add(notice)
        gate.tick(now)
    for notice in decoder.flush(now, cut=True).notices:
        gate.add(notice)
    gate.tick(now, force=True)
    block = FrameBlock.concat(frames) if frames else FrameBlock.empty(profile.frame_shape)
    return {"frames": block, "counters": decoder.counters.as_dict(),
            "notices": notices, "reads": reads}


def same_as_line_at_a_time(store: Store, path: Path, profile: Profile,
                           backend: Backend = ON_THE_STATION) -> None:
    """Imported into the station's ``store``, read back from ``backend``'s store."""
    want = line_at_a_time(path, profile)
    result = import_file(store, path, profile, SessionMeta())
    s = backend.store(store).session(result.session_id)
    got = s.frames()
    for column in ("values", "host_time", "device_time", "seq", "flags"):
        np.testing.assert_array_equal(getattr(got, column), getattr(want["frames"], column),
                                      err_msg=column)
    assert {k: s.info.counters[k] for k in want["counters"]} == want["counters"]
    c = want["counters"]
    assert c["bytes"] == c["decoded_bytes"] + c["undecodable_bytes"] + c["cut_bytes"] + \
        c["held_bytes"]
    events = [(e.host_time, e.kind, e.text, e.data) for e in s.events() if e.source == "device"]
    assert events == [(n.host_time, n.kind, n.detail, n.data) for n in want["notices"]]
    assert list(s.raw()) == want["reads"]
    assert result.reads == len(want["reads"])
    assert reparse(s).identical


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "s.sqlite3")


@pytest.mark.parametrize("block_bytes", [1 << 20, 997], ids=["1MB", "997B"])
@pytest.mark.parametrize("case", ["device-time", "uniform", "clock-back"])
def test_bulk_import_is_line_at_a_time(store, tmp_path: Path, monkeypatch, case: str,
                                       block_bytes: int) -> None:
    monkeypatch.setattr(importer, "BLOCK_BYTES", block_bytes)
    path = tmp_path / "log.csv"
    path.write_bytes(four_cell_log(3000, seed=len(case), time_column=case != "uniform",
                                   clock_back=case == "clock-back"))
    profile = parse_profile(FOUR if case != "uniform" else FOUR_NO_TIME, "four.toml")
    same_as_line_at_a_time(store, path, profile)


def test_bulk_import_of_a_mat_log_in_small_blocks(store, monkeypatch, backend) -> None:
    monkeypatch.setattr(importer, "BLOCK_BYTES", 1000)  # its 7 KB lines span many blocks
    same_as_line_at_a_time(store, KITRONYX, load_profile("kitronyx-48x48-log"), backend)


def test_a_file_of_garbage_and_one_of_nothing(store, tmp_path: Path, backend) -> None:
    profile = parse_profile(FOUR, "four.toml")
    path = tmp_path / "junk.csv"
    path.write_bytes(b"not a log\r\n" * 50 + b"1,2\n")
    with pytest.raises(Exception, match="--rate"):  # no frames, so no device time to go by
        import_file(store, path, parse_profile(FOUR.replace("nominal_rate_hz = 80\n", ""),
                                               "x.toml"), SessionMeta())
    same_as_line_at_a_time(store, path, profile, backend)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = import_file(store, empty, profile, SessionMeta())
    assert (result.frames, result.reads, result.bytes) == (0, 0, 0)


def test_a_file_without_line_ends_is_read_in_pieces(store, tmp_path: Path, backend) -> None:
    """No line end for megabytes (a binary file, the wrong profile): reads of a megabyte or
    so, never a carry that grows with the file; every byte kept and counted."""
    path = tmp_path / "noise.bin"
    data = bytes(range(32, 127)) * 40_000 + b"\r\n1,2,3,4,5\r\n2,2,3,4,5\r\n"
    path.write_bytes(data)
    result = import_file(store, path, parse_profile(FOUR, "four.toml"), SessionMeta())
    s = backend.store(store).session(result.session_id)
    assert b"".join(d for _, d in s.raw()) == data
    assert max(len(d) for _, d in s.raw()) < 2 * importer.LONG_READ
    c = s.info.counters
    assert c["undecodable"] == 1 and c["undecodable_bytes"] == 95 * 40_000  # the overlong line
    assert c["bytes"] == c["decoded_bytes"] + c["undecodable_bytes"] + c["cut_bytes"]
    assert reparse(s).identical


@pytest.mark.parametrize("block_bytes", [1 << 20, 4096], ids=["1MB", "4KB"])
def test_an_imported_session_is_chunked_by_minutes(store, tmp_path: Path, monkeypatch,
                                                   block_bytes: int) -> None:
    """Chunks are encoded beside the decoding, each the frames of CHUNK_SECONDS of host time
    from its first frame, cut across the file's blocks: the same frames, in rows of that
    length (10 minutes; a minute here, so that a short log has many, each too large to be
    gathered when the session closes)."""
    monkeypatch.setattr(importer, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(importer, "CHUNK_SECONDS", 60.0)
    path = tmp_path / "log.csv"
    path.write_bytes(four_cell_log(20_000, seed=7))  # its glued lines set the clock back
    profile = parse_profile(FOUR, "four.toml")
    same_as_line_at_a_time(store, path, profile)
    host = store.session(1).frames().host_time
    firsts = [0]
    while (cut := int(np.searchsorted(host, host[firsts[-1]] + importer.CHUNK_SECONDS))) < len(
            host):
        firsts.append(cut)
    with store._transaction() as conn:
        rows = conn.execute("SELECT first_index, count FROM chunks WHERE session_id = 1 "
                            "ORDER BY first_index").fetchall()
    assert len(firsts) > 10
    assert [r[0] for r in rows] == firsts
    assert sum(r[1] for r in rows) == len(host)


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.sampled_from([b"12", b",", b"\r", b"\n", b"\r\n", b"\r\n\r\n"]),
                     max_size=80).map(b"".join), end=st.booleans())
def test_reads_start_after_each_line_end(data: bytes, end: bool) -> None:
    """A read ends at each LF, CRLF or lone CR (not at a CR ending the block, which may be a
    CRLF's torn), whether the block's CRs are all CRLFs' (counted) or not (searched)."""
    starts, whole = importer.read_starts(data, None, end)
    cut = [i + 1 for i, b in enumerate(data) if b == 10
           or (b == 13 and i + 1 < len(data) and data[i + 1] != 10)]
    if end and (cut[-1] if cut else 0) < len(data):
        cut.append(len(data))
    assert whole == (cut[-1] if cut else 0)
    assert starts.tolist() == ([0, *cut[:-1]] if cut else [])


def test_a_logs_text_is_kept_as_nibbles_and_reads_back_without_c(store, tmp_path: Path,
                                                                 monkeypatch) -> None:
    """An import's raw capture of a text log: a nibble a byte, then zstd (``packing.pack_raw``);
    read back the same, and reparsed identical, where sotlog was built without its C passes
    (a store synced to such a station), and a block of more than 16 byte values kept as is."""
    path = tmp_path / "log.csv"
    rng = np.random.default_rng(3)
    text = b"".join(b"%d,%d,%d,%d,%d\r\n" % (1000 + 12 * i, *rng.integers(-99999, 99999, 4))
                    for i in range(6000))
    junk = bytes(range(256)) + b"\r\n"
    path.write_bytes(text + junk + text)
    monkeypatch.setattr(importer, "BLOCK_BYTES", 64 << 10)
    result = import_file(store, path, parse_profile(FOUR, "four.toml"), SessionMeta())
    with store._transaction() as conn:
        names = {json.loads(c)["data"] for (c,) in conn.execute(
            "SELECT codecs FROM raw WHERE session_id = ?", (result.session_id,))}
    assert names == {"nibbles-zstd", "zlib"}  # the block holding the junk: ISA-L's zlib
    s = store.session(result.session_id)
    with_c = b"".join(d for _, d in s.raw())
    assert with_c == path.read_bytes()
    monkeypatch.setattr(native, "ctext", None)
    s = Store.open(store.path).session(result.session_id)
    assert b"".join(d for _, d in s.raw()) == with_c
    assert reparse(s).identical
