"""Every byte accounted for, by every protocol, whatever it is fed (docs/wire.md).

After every read: ``bytes == decoded_bytes + undecodable_bytes + cut_bytes + held_bytes``, and
for the text protocols every line is exactly one thing:
``lines == frames + undecodable + wrong_size + header_lines + blank_lines + held_lines``.
After ``flush`` nothing is held. Fed their own streams, random bytes, or another protocol's
stream (a wrong profile), chunked any way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.frames import Counters
from firmware_bridge.profiles import Profile, load_profile, parse_profile
from firmware_bridge.protocols import Decoder, make_decoder, read_size
from firmware_bridge.protocols.blockframe import encode_frame
from firmware_bridge.protocols.m1616 import encode_m1616
from firmware_bridge.sim import LoadcellDevice, MatDevice, parse_sim_url

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TEXT_PROTOCOLS = ("lines", "matrix_lines", "snowboard")
# one profile per protocol and shape: channels and matrices, binary and text
PROFILES = ("sotlog-loadcells", "sim-mat", "m1616", "hx711-arduino", "openscale",
            "nau7802-arduino", "sim-loadcells", "kitronyx-48x48-log", "kitronyx-snowboard",
            "48x48 timed", "sim-loadcells-binary", "m1616-binary", "binary no sync")
TIMED_MAT = parse_profile(  # a mat log whose time is column 0: its first line waits for the next
    load_profile("kitronyx-48x48-log").source.replace(
        'header = "yes"', 'header = "auto"').replace(
        'time_column = "Measurement Time (sec)"', "time_column = 0"), "48x48 timed")

NO_SYNC = parse_profile(  # the simulator's binary records without sync bytes: found by CRC
    load_profile("sim-loadcells-binary").source.replace('sync = "A5 5A"\n', ""),
    "binary no sync")


def profile_named(name: str) -> Profile:
    made = {p.path: p for p in (TIMED_MAT, NO_SYNC)}
    return made[name] if name in made else load_profile(name)


def sim_bytes(url: str, samples: int) -> bytes:
    """What a simulated device sends first: its header and ``samples`` samples."""
    name, config = parse_sim_url(url)
    device = (LoadcellDevice if name == "loadcells" else MatDevice)(config)  # type: ignore[arg-type]
    return device.header() + b"".join(device.render(0, samples))


def streams() -> dict[str, bytes]:
    """A stream of every kind sotlog reads, each of them some other profile's wrong input."""
    rng = np.random.default_rng(3)
    log = (FIXTURES / "real" / "kitronyx_48x48_adc.csv").read_bytes()[:60_000]
    second_line = log.index(b"\n", log.index(b"\n") + 1) + 1
    return {
        "blockframe channels": b"".join(encode_frame(np.array([s, -s], np.int32), s, s * 12_500)
                                        for s in range(40)),
        "blockframe mat": sim_bytes("sim://mat?rows=32&cols=32", 6),
        "m1616": b"".join(encode_m1616(rng.integers(0, 4096, (16, 16))) for _ in range(6)),
        "lines": sim_bytes("sim://loadcells?protocol=lines", 200),
        "binary": sim_bytes("sim://loadcells?protocol=binary", 100),
        "matrix_lines": sim_bytes("sim://mat?rows=16&cols=10&protocol=matrix_lines", 20),
        "hx711 messy": (FIXTURES / "text" / "hx711_messy.txt").read_bytes(),
        "openscale": (FIXTURES / "text" / "openscale_kg.txt").read_bytes(),
        "kitronyx log": log,
        "kitronyx log from a line": log[second_line:],  # no header; a first line to hold
        "noise": rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
    }


STREAMS = streams()


def check(dec: Decoder, where: object) -> None:
    c = dec.counters
    assert c.bytes == c.decoded_bytes + c.undecodable_bytes + c.cut_bytes + c.held_bytes, where
    assert min(c.decoded_bytes, c.undecodable_bytes, c.cut_bytes, c.held_bytes) >= 0, where
    if dec.name in TEXT_PROTOCOLS:
        judged = (c.frames + c.undecodable + c.wrong_size + c.header_lines + c.blank_lines
                  + c.held_lines)
        assert c.lines == judged, where


def feed_all(dec: Decoder, data: bytes, cuts: list[int], cut: bool) -> tuple[int, int]:
    """Feed ``data`` cut at ``cuts``, checking after every read, then flush; (frames given,
    undecodable notices)."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    frames = undecodable = 0
    for k, (a, b) in enumerate(zip(points, points[1:], strict=False)):
        out = dec.feed(data[a:b], float(k))
        frames += 0 if out.frames is None else len(out.frames)
        undecodable += sum(n.kind == "undecodable" for n in out.notices)
        check(dec, (dec.profile.name, k))
    out = dec.flush(float(len(points)), cut=cut)
    frames += 0 if out.frames is None else len(out.frames)
    undecodable += sum(n.kind == "undecodable" for n in out.notices)
    check(dec, (dec.profile.name, "flush"))
    assert dec.counters.held_bytes == dec.counters.held_lines == 0
    assert not cut or out.frames is None  # a cut decodes nothing more
    return frames, undecodable


@pytest.mark.parametrize("profile_name", PROFILES)
@pytest.mark.parametrize("stream", sorted(STREAMS))
@pytest.mark.parametrize("cut", [False, True], ids=["end", "cut"])
def test_every_stream_with_every_profile_accounts_for_every_byte(
        profile_name: str, stream: str, cut: bool) -> None:
    profile = profile_named(profile_name)
    data = STREAMS[stream]
    dec = make_decoder(profile)
    frames, undecodable = feed_all(dec, data, list(range(0, len(data), 997)), cut)
    c = dec.counters
    assert c.frames == frames and c.bytes == len(data)
    assert c.undecodable == undecodable  # every run or line counted was said
    size = read_size(profile)
    if size is not None:  # binary: decoded bytes are the used frames, whole
        assert c.decoded_bytes == frames * size
    if frames == 0:
        assert c.decoded_bytes < len(data) or not data  # decoding nothing shows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 4000), max_size=10),
       profile_name=st.sampled_from(PROFILES), cut=st.booleans())
def test_random_bytes_are_accounted_for(data: bytes, cuts: list[int], profile_name: str,
                                        cut: bool) -> None:
    feed_all(make_decoder(profile_named(profile_name)), data, cuts, cut)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.sampled_from(sorted(STREAMS)), profile_name=st.sampled_from(PROFILES),
       cuts=st.lists(st.integers(0, 10**6), max_size=12), start=st.integers(0, 5000),
       cut=st.booleans())
def test_any_chunking_and_any_start_gives_the_same_counts(
        stream: str, profile_name: str, cuts: list[int], start: int, cut: bool) -> None:
    """Opened mid-stream, read in any chunks: the same counters as read in one piece."""
    data = STREAMS[stream][start:]
    profile = profile_named(profile_name)
    one, many = make_decoder(profile), make_decoder(profile)
    feed_all(one, data, [], cut)
    feed_all(many, data, cuts, cut)
    assert one.counters == many.counters


def test_text_bytes_by_kind_of_line() -> None:
    """Undecodable bytes are the undecodable lines' text; the line ends go with the decoded."""
    data = (FIXTURES / "text" / "hx711_messy.txt").read_bytes()
    dec = make_decoder(load_profile("hx711-arduino"))
    notices = dec.feed(data, 0.0).notices + dec.flush(1.0).notices
    bad = [n.data["line"].encode() for n in notices if n.kind == "undecodable"]
    c = dec.counters
    assert (c.frames, c.undecodable, c.header_lines, c.lines) == (9, 3, 2, 14)
    assert c.undecodable_bytes == sum(map(len, bad))
    assert c.decoded_bytes == len(data) - c.undecodable_bytes
    assert c.blank_lines == 0 and c.cut_bytes == c.held_bytes == 0


def test_a_line_reduced_to_nothing_by_its_prefix_is_counted() -> None:
    """``Reading: ,`` and ``weight=,`` carry a label and no value: counted, never dropped."""
    dec = make_decoder(load_profile("nau7802-arduino"))
    data = b"\r\nReading: 1\r\nReading: ,\r\nweight=,\r\nReading: 2\r\n,\r\n"
    out = dec.feed(data, 0.0)
    assert out.frames is not None and out.frames.values.ravel().tolist() == [1.0, 2.0]
    assert [n.data["line"] for n in out.notices] == ["Reading: ,", "weight=,"]
    assert all(n.detail == "a label without a value" for n in out.notices)
    c = dec.counters
    assert (c.undecodable, c.blank_lines, c.lines) == (2, 2, 6)  # "," alone is a blank line
    check(dec, "prefix")


def test_binary_garbage_at_the_end_is_counted_when_flushed() -> None:
    """A run of garbage no frame follows is one undecodable run once the stream ends."""
    dec = make_decoder(load_profile("sim-mat"))
    text = STREAMS["lines"]
    out = dec.feed(text, 0.0)
    assert out.frames is None and dec.counters.undecodable_bytes == len(text)
    assert dec.counters.undecodable == 0  # the run has not ended ...
    end = dec.flush(1.0, cut=True)
    assert dec.counters.undecodable == 1  # ... until the stream does
    assert [n.data["bytes"] for n in end.notices] == [len(text)]


def test_a_frame_cut_at_the_end_is_cut_not_undecodable() -> None:
    frames = STREAMS["blockframe channels"]
    dec = make_decoder(load_profile("sotlog-loadcells"))
    dec.feed(b"junk" + frames[:-7], 0.0)
    assert dec.counters.held_bytes == 40 - 7
    out = dec.flush(1.0, cut=True)
    c = dec.counters
    assert (c.frames, c.undecodable, c.undecodable_bytes, c.cut_bytes) == (39, 1, 4, 33)
    assert [n.data["bytes"] for n in out.notices] == []  # the junk was reported at frame 0


def test_counters_of_a_snapshot_difference_keep_the_identity() -> None:
    """A session's counters are a difference of two snapshots: the identity still holds."""
    dec = make_decoder(load_profile("sim-loadcells"))
    data = STREAMS["lines"]
    dec.feed(data[:1001], 0.0)
    before = Counters(**dec.counters.as_dict())
    dec.feed(data[1001:-5], 1.0)
    now, was = dec.counters.as_dict(), before.as_dict()
    diff = Counters(**{k: now[k] - was[k] for k in now})
    assert diff.bytes == len(data) - 1006 and diff.frames > 100
    assert diff.bytes == (diff.decoded_bytes + diff.undecodable_bytes + diff.cut_bytes
                          + diff.held_bytes)
