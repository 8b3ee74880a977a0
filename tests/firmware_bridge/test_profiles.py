"""Built-in device profiles: each one loads, builds its decoder and reads what its device sends."""

from __future__ import annotations

import csv
import queue
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import FrameBlock
from firmware_bridge.ports import SIMULATED_PORTS
from firmware_bridge.profiles import builtin_names, load_profile, parse_profile
from firmware_bridge.protocols import PROTOCOLS, check_profile, make_decoder

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
REQUIRED = {
    "hx711-arduino", "hx711-arduino-1ch", "nau7802-arduino", "openscale", "sim-loadcells",
    "sim-loadcells-blockframe", "sotlog-loadcells", "kitronyx-48x48-log", "kitronyx-snowboard",
    "m1616", "sim-mat",
}


def test_every_required_profile_ships() -> None:
    assert set(builtin_names()) >= REQUIRED


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_profile_loads_and_builds_its_decoder(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.path == f"builtin:{name}"
    assert profile.description and profile.protocol in PROTOCOLS
    assert profile.nominal_rate_hz and profile.nominal_rate_hz > 0
    assert 1200 <= profile.serial.baudrate <= 4_000_000
    assert parse_profile(profile.source) == parse_profile(profile.source)
    check_profile(profile)  # what its protocol needs, as `sotlog profiles NAME` checks it
    decoder = make_decoder(profile)  # no skip: every protocol a profile names must exist
    assert decoder.frame_shape == profile.frame_shape
    nothing = decoder.feed(b"", 0.0).frames
    assert nothing is None or len(nothing) == 0


def test_every_simulated_port_names_a_builtin_profile() -> None:
    for port in SIMULATED_PORTS:
        assert port.profile in builtin_names()


def test_sim_loadcell_profiles_scale_counts_to_the_simulators_true_kg() -> None:
    from firmware_bridge.sim.loadcells import loadcell_model

    for name in ("sim-loadcells", "sim-loadcells-blockframe"):
        profile = load_profile(name)
        url = next(p.device for p in SIMULATED_PORTS if p.profile == name)
        model = loadcell_model(url)
        assert tuple(profile.channel_names) == tuple(model.names)
        for ch, gain, offset in zip(profile.channels, model.gain, model.offset, strict=True):
            assert ch.unit == "kg"
            assert ch.scale == pytest.approx(1.0 / gain, rel=1e-6)
            assert ch.offset == pytest.approx(-offset / gain, rel=1e-6)


def test_sim_mat_profile_matches_the_simulated_mat() -> None:
    from firmware_bridge.sim import mat

    profile = load_profile("sim-mat")
    url = next(p.device for p in SIMULATED_PORTS if p.profile == "sim-mat")
    frame = mat.mat_frame(1.0, url)
    assert profile.frame_shape == frame.shape
    assert profile.matrix is not None
    assert profile.matrix.raw_max == mat.RAW_MAX
    assert np.dtype(profile.matrix.dtype) == frame.dtype


class _Frames:
    def __init__(self) -> None:
        self.q: queue.Queue[FrameBlock] = queue.Queue()

    def on_frames(self, block: FrameBlock) -> None:
        self.q.put(block)

    def take(self, n: int, timeout: float = 5.0) -> FrameBlock:
        got: list[FrameBlock] = []
        deadline = time.monotonic() + timeout
        while sum(len(b) for b in got) < n:
            got.append(self.q.get(timeout=max(0.01, deadline - time.monotonic())))
        return FrameBlock.concat(got)


@pytest.mark.parametrize("name", ["sim-loadcells", "sim-loadcells-blockframe"])
def test_sim_loadcells_read_through_the_bridge_give_true_kg(name: str) -> None:
    from firmware_bridge.sim.loadcells import LoadcellDevice, loadcell_kg
    from firmware_bridge.sim.options import parse_sim_url

    profile = load_profile(name)
    url = next(p.device for p in SIMULATED_PORTS if p.profile == name) + "&speed=40"
    bridge = Bridge(url, profile, reconnect=False)
    sink = _Frames()
    bridge.add_listener(sink)
    bridge.start()
    try:
        block = sink.take(1600)  # 20 simulated seconds: unloaded, then a body settling on
    finally:
        bridge.stop()
    config = parse_sim_url(url)[1]
    boot_s = LoadcellDevice(config).boot_us / 1e6  # type: ignore[arg-type]
    t = block.device_time - boot_s
    assert t[0] == pytest.approx(0.0, abs=1e-3) and np.all(np.diff(t) > 0)
    scale = np.array([c.scale for c in profile.channels])
    offset = np.array([c.offset for c in profile.channels])
    kg = block.values * scale + offset
    truth = loadcell_kg(np.rint(t * 80) / 80, url)  # sample k is taken at k / rate
    # noise 60 counts RMS (~3 g) and 30 counts/min drift: 50 g bounds both many times over
    assert np.abs(kg - truth).max() < 0.05
    assert truth.max() > 5  # the window reached a loaded stretch, so the scale was tested


def _feed_in_chunks(profile_name: str, data: bytes, size: int = 997) -> tuple[Any, FrameBlock]:
    decoder = make_decoder(load_profile(profile_name))
    blocks = []
    for i in range(0, len(data), size):
        out = decoder.feed(data[i:i + size], float(i))
        if out.frames is not None and len(out.frames):
            blocks.append(out.frames)
    out = decoder.flush(float(len(data)))
    if out.frames is not None and len(out.frames):
        blocks.append(out.frames)
    return decoder, FrameBlock.concat(blocks)


@pytest.mark.parametrize("fname", ["hx711_arduino_9600_log22.csv", "hx711_arduino_9600_log24.csv"])
def test_hx711_1ch_profile_reads_the_real_recordings(fname: str) -> None:
    data = (REAL / fname).read_bytes()
    rows = list(csv.reader(data.decode().splitlines()))[1:]
    decoder, block = _feed_in_chunks("hx711-arduino-1ch", data)
    assert len(block) == len(rows)
    assert block.values[:, 0].tolist() == [float(r[1]) for r in rows]
    assert block.device_time == pytest.approx([int(r[0]) / 1000 for r in rows])
    assert decoder.counters.undecodable == 0


def test_kitronyx_profile_reads_the_real_log() -> None:
    data = (REAL / "kitronyx_48x48_adc.csv").read_bytes()
    rows = list(csv.reader(data.decode().splitlines()))[1:]
    decoder, block = _feed_in_chunks("kitronyx-48x48-log", data, size=4093)
    assert block.values.shape == (len(rows), 48, 48)
    expect = np.array([[float(v) for v in r[1:2305]] for r in rows]).reshape(-1, 48, 48)
    assert np.array_equal(block.values, expect)
    assert block.device_time == pytest.approx([float(r[0]) for r in rows])
    assert decoder.counters.wrong_size == 0


def test_openscale_profile_reads_openscale_lines() -> None:
    data = (b"SparkFun OpenScale\r\nPress x to bring up settings\r\nReadings:\r\n"
            b"1024,1.25,kg,\r\n1124,1.50,kg,\r\n1224,-0.02,kg,\r\n")
    decoder, block = _feed_in_chunks("openscale", data, size=7)
    assert block.values[:, 0].tolist() == [1.25, 1.50, -0.02]
    assert block.device_time == pytest.approx([1.024, 1.124, 1.224])


def test_nau7802_profile_reads_reading_lines() -> None:
    data = b"Qwiic Scale Example\r\nScale detected!\r\nReading: 104223\r\nReading: -512\r\n"
    decoder, block = _feed_in_chunks("nau7802-arduino", data, size=5)
    assert block.values[:, 0].tolist() == [104223.0, -512.0]
    assert np.isnan(block.device_time).all()


def test_hx711_two_channel_profile_reads_millis_left_right() -> None:
    rows = b"".join(b"%d\t%d\t%d\n" % (1000 + 12 * i, 8000 + i, -3000 - i) for i in range(50))
    data = b"millis\tleft\tright\n" + rows
    decoder, block = _feed_in_chunks("hx711-arduino", data, size=64)
    assert block.values.tolist() == [[8000 + i, -3000 - i] for i in range(50)]
    assert decoder.counters.undecodable == 0


def test_a_typo_in_a_matrix_table_is_refused() -> None:
    base = 'name = "t"\nprotocol = "blockframe"\n[matrix]\nrows = 4\ncols = 4\n'
    for extra, words in [('patient_left = "west"\n', r'\[matrix\] patient_left: .* not "west"$'),
                         ('unit = "psi"\n', r'\[matrix\] unit: .* not "psi"$'),
                         ('dtype = "uint17"\n', r'\[matrix\] dtype: .* not "uint17"$'),
                         ("raw_min = 10\nraw_max = 5\n", r"\[matrix\] raw_min: .*raw_max"),
                         ("pitch_mm = [1.0, 2.0, 3.0]\n", r"\[matrix\] pitch_mm: ")]:
        with pytest.raises(ProfileError, match=words):
            parse_profile(base + extra, "my.toml")
    with pytest.raises(ProfileError, match="nominal_rate_hz"):
        parse_profile('name = "t"\nprotocol = "lines"\nnominal_rate_hz = -1\n'
                      '[[channels]]\nname = "a"\n')


def test_a_name_too_long_for_a_path_is_one_line() -> None:
    with pytest.raises(ProfileError, match=r"^unknown profile 'x{60}': File name too long$"):
        load_profile("x" * 5000)
