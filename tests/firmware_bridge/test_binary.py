"""binary: records a profile describes: checksums, layouts, resync, chunking, corruption, the
built-in profiles of real devices, and refusals of bad layouts."""

from __future__ import annotations

import binascii
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.cli import main
from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import FLAG_AFTER_GAP, FLAG_OUT_OF_RANGE
from firmware_bridge.profiles import Profile, load_profile, parse_profile
from firmware_bridge.protocols import make_decoder, read_size
from firmware_bridge.protocols._checksums import CHECKSUMS
from firmware_bridge.protocols.binary import BinaryRecordDecoder, encode_records
from firmware_bridge.protocols.m1616 import encode_m1616
from sensing.store.sessions import Store
from tests.corruption import corrupt, corruption_ops
from tests.decoding import decode


def crc16_reflected(data: bytes, poly: int, init: int, xorout: int) -> int:
    """A bit-by-bit reflected CRC-16, written from the definition: the independent reference."""
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ xorout


INDEPENDENT = {  # other implementations of the same checksums
    "sum8": lambda d: sum(d) & 0xFF,
    "xor8": lambda d: np.bitwise_xor.reduce(np.frombuffer(d, np.uint8)),
    "crc16-ccitt-false": lambda d: binascii.crc_hqx(d, 0xFFFF),
    "crc16-xmodem": lambda d: binascii.crc_hqx(d, 0),
    "crc16-kermit": lambda d: crc16_reflected(d, 0x8408, 0, 0),
    "crc16-x25": lambda d: crc16_reflected(d, 0x8408, 0xFFFF, 0xFFFF),
    "crc16-modbus": lambda d: crc16_reflected(d, 0xA001, 0xFFFF, 0),
    "crc32": zlib.crc32,
}


@pytest.mark.parametrize("name", sorted(CHECKSUMS))
def test_each_checksum_gives_its_check_value_and_agrees_with_another_implementation(
        name: str) -> None:
    cs = CHECKSUMS[name]
    assert cs.of(b"123456789") == cs.check
    rng = np.random.default_rng(3)
    for shape in ((50, 37), (5, 100), (40, 300)):  # numpy's table, then anycrc a row at a time
        rows = rng.integers(0, 256, shape, dtype=np.uint8)
        assert cs.of_rows(rows).tolist() == [int(INDEPENDENT[name](r.tobytes())) for r in rows]


# -- layouts ------------------------------------------------------------------------------

FIELDS = {
    "sync+crc": ('sync = "A5 5A"\nchecksum = "crc16-modbus"',
                 '{ use = "checksum", dtype = "<u2" }'),
    "crc": ('checksum = "crc32"', '{ use = "checksum", dtype = ">u4" }'),
    "sync": ('sync = "A5 5A"', '{ use = "skip", count = 2 }'),
    "sum8": ('checksum = "sum8"\nchecksum_from = 0', '{ use = "checksum", dtype = "u1" }'),
    "none": ("", '{ use = "skip", count = 1 }'),
}


def profile(kind: str, dtype: str = "<i4", channels: int = 2) -> Profile:
    opts, last = FIELDS[kind]
    names = "".join(f'[[channels]]\nname = "c{i}"\n' for i in range(channels))
    return parse_profile(
        f'name = "t"\nprotocol = "binary"\n[options]\n{opts}\ntime_unit = "us"\n'
        f'fields = [{{ use = "seq", dtype = ">u2" }}, {{ use = "time", dtype = "<u4" }}, '
        f'{{ use = "values", dtype = "{dtype}" }}, {last}]\n{names}')


def records(kind: str, n: int, dtype: str = "<i4") -> tuple[Profile, bytes, np.ndarray]:
    prof = profile(kind, dtype)
    values = (np.arange(2 * n).reshape(n, 2) * 997 - 3000).astype(np.dtype(dtype).newbyteorder("="))
    dec = BinaryRecordDecoder(prof)
    return prof, encode_records(dec.layout, values, np.arange(n), np.arange(n) * 12_500), values


@pytest.mark.parametrize("kind", list(FIELDS))
@pytest.mark.parametrize("dtype", ["<i4", ">i2", "<u2", "<f4", ">f8"])
def test_round_trip_values_time_and_sequence(kind: str, dtype: str) -> None:
    prof, data, values = records(kind, 12, dtype)
    dec = make_decoder(prof)
    got, notices = decode(dec, [data])
    assert got is not None and notices == []
    np.testing.assert_array_equal(got.values, values)
    assert got.values.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_allclose(got.device_time, np.arange(12) * 0.0125)
    assert got.seq.tolist() == list(range(12))
    assert dec.counters.decoded_bytes == len(data) == dec.counters.bytes
    assert read_size(prof) == len(data) // 12


def test_the_wire_layout_is_the_documented_one() -> None:
    """The sim-loadcells-binary record of docs/protocol.md, byte by byte."""
    dec = make_decoder(load_profile("sim-loadcells-binary"))
    data = encode_records(dec.layout, np.array([[1, -2]]), np.array([7]), np.array([123456]))
    body = struct.pack("<HIii", 7, 123456, 1, -2)
    assert data == b"\xa5\x5a" + body + struct.pack("<H", crc16_reflected(body, 0xA001, 0xFFFF, 0))
    assert f"\n{data.hex(' ')}\n" in (Path(__file__).parents[2] / "docs/protocol.md").read_text()


def test_a_mat_of_records() -> None:
    prof = parse_profile('name = "m"\nprotocol = "binary"\n[options]\nsync = "FF 00"\n'
                         'fields = [{ use = "values", dtype = "<u2" }]\n'
                         '[matrix]\nrows = 3\ncols = 4\nraw_max = 4095\n')
    values = np.arange(5 * 12, dtype=np.uint16).reshape(5, 3, 4) * 80
    dec = make_decoder(prof)
    got, _ = decode(dec, [encode_records(dec.layout, values)])  # type: ignore[attr-defined]
    assert got is not None and got.values.shape == (5, 3, 4)
    np.testing.assert_array_equal(got.values, values)
    assert got.flags.tolist() == [0, 0, 0, 0, FLAG_OUT_OF_RANGE]  # above 4095: kept, flagged


def test_without_sync_bytes_the_checksum_finds_the_records_again() -> None:
    prof, data, values = records("crc", 10)
    size = len(data) // 10
    broken = b"\x00\x01" + data[:3 * size] + b"noise!" + data[3 * size + 5:]  # record 3 cut
    dec = make_decoder(prof)
    got, notices = decode(dec, [broken])
    assert got is not None and got.seq.tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    np.testing.assert_array_equal(got.values, values[[0, 1, 2, 4, 5, 6, 7, 8, 9]])
    assert dec.counters.crc_errors == 1 and dec.counters.seq_gaps == 1
    assert got.flags.tolist() == [0, 0, 0, FLAG_AFTER_GAP, 0, 0, 0, 0, 0]
    assert {n.kind for n in notices} == {"undecodable", "crc_error", "seq_gap"}


def test_without_sync_or_checksum_every_record_counts() -> None:
    """Nothing can be checked: a byte lost shifts every later record (docs say so)."""
    prof, data, values = records("none", 6)
    dec = make_decoder(prof)
    got, notices = decode(dec, [data[1:]])
    assert got is not None and len(got) == 5
    assert dec.counters.undecodable_bytes == len(data) // 6 - 1
    assert not np.array_equal(got.values, values[1:])


# -- the same properties as the other decoders ----------------------------------------------

@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(list(FIELDS)), n=st.integers(1, 8),
       cuts=st.lists(st.integers(0, 400), max_size=12), junk=st.binary(max_size=20))
def test_any_chunking_gives_identical_frames_counters_and_notices(
        kind: str, n: int, cuts: list[int], junk: bytes) -> None:
    prof, data, _ = records(kind, n)
    data = junk + data + junk
    whole = make_decoder(prof)
    ref, ref_notices = decode(whole, [data])
    points = sorted({c % (len(data) + 1) for c in cuts})
    split = make_decoder(prof)
    got, notices = decode(split, [data[a:b] for a, b in
                                  zip([0, *points], [*points, len(data)], strict=True)])
    assert whole.counters == split.counters
    assert [(x.kind, x.data) for x in notices] == [(x.kind, x.data) for x in ref_notices]
    assert (got is None) == (ref is None)
    if got is not None and ref is not None:
        np.testing.assert_array_equal(got.values, ref.values)
        np.testing.assert_array_equal(got.seq, ref.seq)
        np.testing.assert_array_equal(got.flags, ref.flags)


@settings(max_examples=80, deadline=None)
@given(kind=st.sampled_from(list(FIELDS)), n=st.integers(1, 8),
       ops=st.lists(corruption_ops(max_delete=40), min_size=1, max_size=3),
       chunk=st.integers(1, 200))
def test_corruption_never_raises_only_counts(kind: str, n: int,
                                             ops: list[tuple[str, float, bytes, int]],
                                             chunk: int) -> None:
    prof, clean, values = records(kind, n)
    size = len(clean) // n
    data, origin, flipped = corrupt(clean, ops)
    dec = make_decoder(prof)
    got, notices = decode(dec, [data[i:i + chunk] for i in range(0, len(data), chunk)])
    c = dec.counters
    assert c.bytes == len(data) == c.decoded_bytes + c.undecodable_bytes + c.cut_bytes
    assert c.frames == (0 if got is None else len(got)) and dec.held_bytes == 0
    assert all(x.kind in ("undecodable", "crc_error", "seq_gap", "out_of_range")
               for x in notices)
    if kind in ("sync+crc", "crc") and got is not None:  # a CRC lets nothing invented through
        assert set(got.seq.tolist()) <= set(range(n))
        np.testing.assert_array_equal(got.values, values[got.seq])
        where = {o: j for j, o in enumerate(origin) if o >= 0}
        for k in range(n):  # every record whose bytes arrived intact and in place comes out
            span = list(range(k * size, (k + 1) * size))
            j = where.get(span[0])
            intact = j is not None and origin[j:j + size] == span
            if intact and not flipped.intersection(span) and kind == "sync+crc":
                assert k in got.seq.tolist()


# -- built-in profiles of real devices ------------------------------------------------------

def bota_record(forces: tuple[float, float, float], t_us: int) -> bytes:
    """One record as Bota's serial example reads it: AA, then 34 bytes, then their X-25."""
    body = struct.pack("<H6fIf", 0, *forces, 0.5, -0.25, 0.125, t_us, 31.5)
    return b"\xaa" + body + struct.pack("<H", crc16_reflected(body, 0x8408, 0xFFFF, 0xFFFF))


def test_bota_sensone_serial_records() -> None:
    prof = load_profile("bota-sensone-serial")
    data = b"".join(bota_record((1.5 * k, -2.0, 300.25 + k), 1_000_000 + 10_000 * k)
                    for k in range(20))
    dec = make_decoder(prof)
    got, notices = decode(dec, [b"App Init\r\n" + data])
    assert got is not None and notices[0].kind == "undecodable" and len(notices) == 1
    assert got.values[:, 2].tolist() == [300.25 + k for k in range(20)]
    assert got.values[:, 0].tolist() == [1.5 * k for k in range(20)]
    np.testing.assert_allclose(np.diff(got.device_time), 0.01)
    assert read_size(prof) == 37


def test_m1616_read_as_binary_records_gives_the_m1616_frames() -> None:
    values = np.random.default_rng(5).integers(0, 4096, (6, 16, 16)).astype(np.uint16)
    data = b"junk" + b"".join(encode_m1616(v, b"\x01\x02\x03\x04") for v in values)
    data = data[:100] + data[103:]  # three bytes lost in the first frame
    a, _ = decode(make_decoder(load_profile("m1616")), [data])
    b, _ = decode(make_decoder(load_profile("m1616-binary")), [data])
    assert a is not None and b is not None and len(b) == 5
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(b.values, values[1:])


# -- refusals -------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "extra", "message"), [
    ('{ use = "values", dtype = "int16" }', "", "a numpy dtype with its byte order"),
    ('{ use = "values", dtype = "<i2" }, { use = "values", dtype = "<i2" }', "",
     "one values field at most"),
    ('{ use = "seq", dtype = "<u2" }', "", 'needs a field with use = "values"'),
    ('{ use = "values", dtype = "<i2" }', 'checksum = "crc32"', "go together"),
    ('{ use = "values", dtype = "<i2" }, { use = "checksum", dtype = "<u2" }',
     'checksum = "crc32"', r"is 4 byte\(s\)"),
    ('{ use = "values", dtype = "<i2" }, { use = "checksum", dtype = "<u2" }',
     'checksum = "crc16-ccitt"', "one of"),
    ('{ use = "values", dtype = "<i2", count = 3 }', "", "only a skip field has a count"),
    ('{ use = "time", dtype = "<f4" }, { use = "values", dtype = "<i2" }', "", "an integer"),
    ('{ use = "values", dtype = "<i2", colour = 1 }', "", "unknown key for binary"),
    ('{ use = "values", dtype = "<i2" }', 'sync = "XY"', "in hex"),
])
def test_a_bad_layout_is_one_line(fields: str, extra: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message) as err:
        make_decoder(parse_profile(f'name = "t"\nprotocol = "binary"\n[options]\n{extra}\n'
                                   f'fields = [{fields}]\n[[channels]]\nname = "a"\n'))
    assert "\n" not in str(err.value)


def test_a_mat_dtype_other_than_the_values_is_refused() -> None:
    with pytest.raises(ProfileError, match=r'\[matrix\] dtype: must be the values field'):
        make_decoder(parse_profile('name = "m"\nprotocol = "binary"\n[options]\n'
                                   'fields = [{ use = "values", dtype = "<i2" }]\n'
                                   '[matrix]\nrows = 2\ncols = 2\n'))


# -- sotlog import ----------------------------------------------------------------------------

def test_sotlog_import_reads_a_file_of_records(tmp_path: Path, capsys: Any) -> None:
    """A file the sim's records were saved to, with a burst of noise inside, becomes a session
    of exactly its good records; the noise is counted, the file's bytes kept whole."""
    dec = make_decoder(load_profile("sim-loadcells-binary"))
    values = np.column_stack([np.arange(400) * 3, -np.arange(400)]).astype(np.int32)
    data = encode_records(dec.layout, values, np.arange(400), 1_000_000 + np.arange(400) * 12_500)
    path = tmp_path / "capture.bin"
    path.write_bytes(data[:2010] + b"\x00" * 37 + data[2010:])
    store = tmp_path / "s.sqlite3"
    assert main(["import", str(path), "--profile", "sim-loadcells-binary", "--json",
                 "--store", str(store)]) == 0
    sid = json.loads(capsys.readouterr().out)["session_id"]
    session = Store.open(store).session(sid)
    block = session.frames()
    lost = {2010 // dec.layout.size}  # the record the noise landed in (18 bytes each)
    kept = [k for k in range(400) if k not in lost]
    np.testing.assert_array_equal(block.values, values[kept])
    assert b"".join(d for _, d in session.raw()) == path.read_bytes()
    np.testing.assert_allclose(block.device_time, 1.0 + np.array(kept) * 0.0125)


def test_a_record_without_a_checksum_waits_only_for_the_sync_bytes_after_it() -> None:
    """No checksum: record 1 is used once record 2's sync bytes follow; a record followed by
    other bytes is skipped at once, even while the last one waits."""
    prof, data, values = records("sync", 4)
    size = len(data) // 4
    dec = make_decoder(prof)
    fed = data[:size] + b"zz" + data[size:3 * size] + data[3 * size:3 * size + 1]
    out = dec.feed(fed, 0.0)
    assert out.frames is not None and out.frames.seq.tolist() == [1]  # record 0: "zz" follows
    assert dec.counters.undecodable_bytes == 2 + 2 + (size - 2)  # sync, then up to record 1
    assert dec.held_bytes == size + 1  # record 2 and the first sync byte of record 3
    out = dec.feed(data[3 * size + 1:], 1.0)
    assert out.frames is not None and out.frames.seq.tolist() == [2]
    end = dec.flush(2.0)
    assert end.frames is not None and end.frames.seq.tolist() == [3]
