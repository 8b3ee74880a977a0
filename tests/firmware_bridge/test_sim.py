"""The sim:// devices, opened through pyserial exactly as the bridge opens them."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import serial

import firmware_bridge.sim as sim
from firmware_bridge.profiles import load_profile, parse_profile
from firmware_bridge.protocols import make_decoder
from firmware_bridge.protocols.blockframe import BlockframeDecoder
from firmware_bridge.sim import (
    BodySession,
    LoadcellConfig,
    MatConfig,
    loadcell_counts,
    loadcell_kg,
    loadcell_model,
    mat_frame,
    mat_model,
    option_docs,
)
from firmware_bridge.urlhandler import register

register()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def open_sim(url: str, timeout: float | None = 0.05) -> serial.SerialBase:
    return serial.serial_for_url(url, timeout=timeout)


def read_bytes(port: serial.SerialBase, enough: int, within: float = 5.0) -> bytes:
    """Read like the bridge does until ``enough`` bytes arrived; fail after ``within`` seconds."""
    data = bytearray()
    deadline = time.monotonic() + within
    while len(data) < enough:
        assert time.monotonic() < deadline, f"only {len(data)} of {enough} bytes in {within} s"
        data += port.read(max(1, port.in_waiting))
    return bytes(data)


def read_lines(url: str, n: int) -> tuple[str, np.ndarray]:
    """Header and the first ``n`` data lines of a lines device, parsed with plain Python."""
    with open_sim(url) as port:
        data = bytearray()
        deadline = time.monotonic() + 10
        while data.count(b"\r\n") < n + 1:
            assert time.monotonic() < deadline, "lines did not arrive"
            data += port.read(max(1, port.in_waiting))
    text = data.decode("ascii")
    lines = text.split("\r\n")[: n + 1]
    rows = [[int(v) for v in line.split(",")] for line in lines[1:]]
    return lines[0], np.array(rows, dtype=np.int64)


def profile_for(config: LoadcellConfig | MatConfig) -> BlockframeDecoder:
    if isinstance(config, MatConfig):
        text = (f'name = "m"\nprotocol = "blockframe"\n[matrix]\nrows = {config.rows}\n'
                f'cols = {config.cols}\nraw_max = 4095\n')
    else:
        names = sim.CHANNEL_NAMES[: config.blocks]
        text = 'name = "c"\nprotocol = "blockframe"\n' + "".join(
            f'[[channels]]\nname = "{n}"\n' for n in names)
    return BlockframeDecoder(parse_profile(text))


def read_frames(url: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, BlockframeDecoder]:
    """values, seq, device_time of the first ``n`` frames of a blockframe device."""
    decoder = profile_for(sim.parse_sim_url(url)[1])
    blocks = []
    got = 0
    deadline = time.monotonic() + 10
    with open_sim(url) as port:
        while got < n:
            assert time.monotonic() < deadline, f"only {got} of {n} frames arrived"
            out = decoder.feed(port.read(max(1, port.in_waiting)), time.monotonic())
            if out.frames is not None:
                blocks.append(out.frames)
                got += len(out.frames)
    values = np.concatenate([b.values for b in blocks])[:n]
    seq = np.concatenate([b.seq for b in blocks])[:n]
    dtime = np.concatenate([b.device_time for b in blocks])[:n]
    return values, seq, dtime, decoder


# --- registration and URL options -------------------------------------------------------------


def test_register_is_idempotent() -> None:
    register()
    register()
    assert serial.protocol_handler_packages.count("firmware_bridge.urlhandler") == 1


GOOD = {
    "seed": ("7", 7), "speed": ("2.5", 2.5), "session": ("30", 30.0),
    "disconnect_after": ("1.5", 1.5), "down": ("2", 2.0), "buffer": ("4096", 4096),
    "pause_after": ("0.5", 0.5), "pause": ("2", 2.0),
    "blocks": ("4", 4), "rate": ("10", 10.0), "protocol": ("blockframe", "blockframe"),
    "gain": ("21000", (21000.0,)), "offset": ("9000,12000", (9000.0, 12000.0)),
    "noise": ("0", 0.0), "drift": ("-5", (-5.0,)), "load": ("steps:0,5,10", ("steps", (0, 5, 10))),
    "hold": ("2", 2.0), "rows": ("16", 16), "cols": ("24", 24),
}


@pytest.mark.parametrize("device", ["loadcells", "mat"])
def test_every_option_parses(device: str) -> None:
    config_cls = sim.CONFIGS[device]
    for name in option_docs(config_cls):
        text, want = GOOD[name]
        if name == "protocol" and device == "mat":
            text, want = "matrix_lines", "matrix_lines"
        if name == "offset" and device == "loadcells":
            text += "&blocks=2"
        got = sim.parse_sim_url(f"sim://{device}?{name}={text}")[1]
        assert getattr(got, name) == want, name


@pytest.mark.parametrize("url, words", [
    ("sim://loadcells?foo=1", "unknown option 'foo' (known: seed, speed"),
    ("sim://loadcells?blocks=5", "blocks='5' must be a whole number from 1 to 4"),
    ("sim://loadcells?rate=0", "rate='0' must be a number more than 0"),
    ("sim://loadcells?rate=abc", "rate='abc'"),
    ("sim://loadcells?protocol=matrix_lines", "must be one of lines, blockframe"),
    ("sim://loadcells?load=ramp:3", "load='ramp:3'"),
    ("sim://loadcells?load=const:1,2", "const takes one value"),
    ("sim://loadcells?gain=1,2,3&blocks=2", "gain needs 1 or 2 values"),
    ("sim://loadcells?session=5", "session='5' must be a number at least 20"),
    ("sim://loadcells?seed=1&seed=2", "option 'seed' given twice"),
    ("sim://loadcells?speed=", "speed=''"),
    ("sim://mat?rows=200", "rows='200'"),
    ("sim://mat?gain=3", "unknown option 'gain'"),
    ("sim://scale?x=1", "unknown simulated device"),
])
def test_bad_url_is_one_line_serial_exception(url: str, words: str) -> None:
    with pytest.raises(serial.SerialException) as info:
        open_sim(url)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_docs_name_every_option() -> None:
    doc = DOCS.read_text("utf-8")
    for config_cls in (LoadcellConfig, MatConfig):
        for name in option_docs(config_cls):
            assert f"`{name}`" in doc, f"docs/simulator.md misses {name}"
            assert f"``{name}``" in (sim.__doc__ or ""), f"module docstring misses {name}"


# --- load cells over text lines ---------------------------------------------------------------


def test_lines_session_looks_like_blocking() -> None:
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=4&session=20&speed=100"
    header, rows = read_lines(url, 1600)  # one full 20 s cycle
    assert header == "time_ms,left,right"
    assert rows.shape == (1600, 3)
    assert np.all(np.diff(rows[:, 0]) >= 12) and np.all(np.diff(rows[:, 0]) <= 13)
    model = loadcell_model(url)
    kg = (rows[:, 1:] - model.offset) / model.gain
    body = BodySession.from_seed(4, 20.0)
    t = np.arange(1600) / 80.0
    unloaded = t < body.t_on
    loaded = (t > body.t_on + body.settle) & (t < body.t_off)
    assert unloaded.sum() > 80 and loaded.sum() > 400
    assert np.abs(kg[unloaded]).max() < 0.05  # unloaded reads the offset, within noise
    total = kg[loaded].sum(axis=1)
    assert total.min() > 28 and total.max() < 48
    left, right = kg[loaded].mean(axis=0)
    assert abs(left - right) > 0.05 * (left + right)
    assert np.all(np.abs(rows[:, 1:]) < 1 << 23)
    # the bytes carry the model's noise-free counts plus noise of about the promised RMS
    resid = rows[:, 1:] - loadcell_counts(t, url)
    assert 40 < resid.std() < 80


def test_breathing_is_at_the_sessions_rate() -> None:
    url = "sim://loadcells?rate=10&seed=9&session=300&speed=400&noise=20"
    _, rows = read_lines(url, 2900)
    model, body = loadcell_model(url), BodySession.from_seed(9, 300.0)
    t = np.arange(len(rows)) / 10.0
    loaded = (t > body.t_on + body.settle + 1) & (t < body.t_off - 1)
    total = ((rows[:, 1:] - model.offset) / model.gain).sum(axis=1)[loaded]
    spectrum = np.abs(np.fft.rfft(total - total.mean()))
    freqs = np.fft.rfftfreq(total.size, d=0.1)
    band = (freqs > 0.05) & (freqs < 2.0)
    peak = freqs[band][np.argmax(spectrum[band])]
    assert 0.2 <= peak <= 0.3
    assert abs(peak - body.breath_hz) < 0.01


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = read_lines("sim://loadcells?seed=5&speed=50", 300)[1]
    b = read_lines("sim://loadcells?seed=5&speed=50", 300)[1]
    c = read_lines("sim://loadcells?seed=6&speed=50", 300)[1]
    assert np.array_equal(a, b)
    assert not np.array_equal(a[:, 1:], c[:, 1:])


@pytest.mark.parametrize("speed", [1, 20])
def test_speed_scales_the_data_rate(speed: int) -> None:
    with open_sim(f"sim://loadcells?rate=80&speed={speed}") as port:
        start = time.monotonic()
        data = bytearray()
        while time.monotonic() - start < 0.5:
            data += port.read(max(1, port.in_waiting))
        elapsed = time.monotonic() - start
    lines = data.split(b"\r\n")[1:-1]
    expected = 80 * speed * elapsed
    assert 0.85 * expected <= len(lines) <= 1.15 * expected + 2
    millis = [int(line.split(b",")[0]) for line in (lines[0], lines[-1])]
    assert millis[1] - millis[0] == pytest.approx((len(lines) - 1) * 12.5, abs=1)


# --- read, timeouts, in_waiting, write, unplug ------------------------------------------------


def test_read_honours_timeouts_like_a_real_port() -> None:
    with open_sim("sim://loadcells?rate=4&seed=2", timeout=0.2) as port:
        first = port.in_waiting  # the header and sample 0 are due at once
        assert first > len(b"time_ms,left,right\r\n")
        start = time.monotonic()
        got = port.read(10_000)  # fewer bytes due than asked: returns at the timeout
        waited = time.monotonic() - start
        assert len(got) == first and got.startswith(b"time_ms,left,right\r\n")
        assert 0.18 <= waited < 0.5
        port.timeout = 0
        start = time.monotonic()
        assert port.read(100) == b"" and time.monotonic() - start < 0.1
        port.timeout = None  # blocks until the next sample (due 0.25 s after opening)
        line = port.read(10)
        assert len(line) == 10 and line[:1].isdigit()
        assert port.write(b"t") == 1  # accepted, and ignored by the sketch


def test_cancel_read_wakes_a_blocked_read() -> None:
    with open_sim("sim://loadcells?rate=0.01", timeout=None) as port:
        port.read(port.in_waiting)
        done = threading.Event()
        result: list[bytes] = []

        def reader() -> None:
            result.append(port.read(100))
            done.set()

        threading.Thread(target=reader, daemon=True).start()
        assert not done.wait(0.05)
        port.cancel_read()
        assert done.wait(2.0)
        assert result == [b""]


def test_disconnect_after_and_down() -> None:
    url = "sim://loadcells?speed=10&disconnect_after=0.2&down=0.3"
    port = open_sim(url)
    opened = time.monotonic()
    with pytest.raises(serial.SerialException, match="disconnected"):
        read_bytes(port, 10**9, within=3.0)
    lost = time.monotonic()
    assert lost - opened >= 0.2
    with pytest.raises(serial.SerialException, match="disconnected"):
        port.in_waiting  # noqa: B018 - the property raises
    port.close()
    with pytest.raises(serial.SerialException, match="unplugged"):
        open_sim(url)
    deadline = lost + 3.0
    while True:  # poll as the bridge's reconnect loop would
        try:
            again = open_sim(url)
            break
        except serial.SerialException:
            assert time.monotonic() < deadline
            threading.Event().wait(0.02)
    assert time.monotonic() - lost >= 0.29
    assert read_bytes(again, 20).startswith(b"time_ms,")
    again.close()


def test_pause_sends_nothing_for_a_while_then_goes_on() -> None:
    port = open_sim("sim://loadcells?rate=100&protocol=blockframe&pause_after=0.2&pause=0.4")
    opened = time.monotonic()
    arrivals: list[tuple[float, bytes]] = []
    while time.monotonic() - opened < 0.9:
        data = port.read(max(1, port.in_waiting))
        if data:
            arrivals.append((time.monotonic() - opened, data))
    port.close()
    times = [t for t, _ in arrivals]
    silence = max(b - a for a, b in zip(times, times[1:], strict=False))
    assert 0.35 <= silence <= 0.6  # a 0.4 s silence, where reads came every 10 ms before
    frames = make_decoder(load_profile("sim-loadcells-blockframe"))
    frames.feed(b"".join(d for _, d in arrivals), 0.0)
    assert 35 <= frames.counters.seq_gaps <= 45  # about 40 samples at 100 Hz never sent


# --- blockframe -------------------------------------------------------------------------------


def test_blockframe_carries_the_same_counts_as_lines() -> None:
    url = "sim://loadcells?blocks=3&seed=11&speed=50&protocol=blockframe"
    values, seq, dtime, decoder = read_frames(url, 400)
    assert values.shape == (400, 3) and values.dtype == np.int32
    assert np.array_equal(seq, np.arange(400))
    assert np.allclose(np.diff(dtime), 1 / 80, atol=2e-6)
    assert decoder.counters.crc_errors == 0 and decoder.counters.undecodable == 0
    _, rows = read_lines(url.replace("blockframe", "lines"), 400)
    assert np.array_equal(values, rows[:, 1:])


def test_overrun_loses_samples_and_shows_as_seq_gap() -> None:
    url = "sim://loadcells?rate=2000&speed=100&protocol=blockframe&buffer=512"
    decoder = profile_for(sim.parse_sim_url(url)[1])
    with open_sim(url) as port:
        threading.Event().wait(0.05)  # nobody reads: 10000 samples fall due into 512 bytes
        decoder.feed(port.read(port.in_waiting), time.monotonic())
        lost = port.overruns
        decoder.feed(read_bytes(port, 200), time.monotonic())
    assert lost > 1000
    assert decoder.counters.seq_gaps >= lost


def test_steps_script_lets_a_calibration_recover_the_true_gain_and_offset() -> None:
    url = "sim://loadcells?load=steps:0,5,10,20&hold=1&rate=80&speed=40&drift=0&seed=3"
    _, rows = read_lines(url, 320)
    model = loadcell_model(url)
    t = np.arange(320) / 80.0
    truth = loadcell_kg(t, url)
    assert set(np.unique(truth)) == {0.0, 5.0, 10.0, 20.0}
    for cell in range(2):
        gain, offset = np.polyfit(truth[:, cell], rows[:, 1 + cell], 1)
        assert gain == pytest.approx(model.gain[cell], rel=1e-3)
        assert offset == pytest.approx(model.offset[cell], abs=30)


def test_given_gain_and_offset_are_the_truth() -> None:
    model = loadcell_model("sim://loadcells?blocks=2&gain=20000,21000&offset=10000")
    assert list(model.gain) == [20000.0, 21000.0] and list(model.offset) == [10000.0, 10000.0]
    assert list(loadcell_counts([0.0], "sim://loadcells?gain=20000&offset=10000&load=const:2")[0]) \
        == [50000, 50000]


# --- the mat ----------------------------------------------------------------------------------


def footprints(frame: np.ndarray) -> list[tuple[int, int]]:
    """Column runs that carry load (a plain connected-columns count, no image library)."""
    loaded = (frame > 50).any(axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loaded.astype(int), [0]))))
    return list(zip(edges[::2], edges[1::2], strict=True))


def test_mat_frames_show_two_footprints_when_loaded() -> None:
    url = "sim://mat?rows=16&cols=24&rate=30&seed=2&session=20&speed=40"
    values, seq, _, decoder = read_frames(url, 600)  # one full cycle
    assert values.shape == (600, 16, 24) and values.dtype == np.uint16
    assert np.array_equal(seq, np.arange(600))
    assert int(values.max()) <= 4095 and decoder.counters.out_of_range == 0
    model = mat_model(url)
    kg = model.side_kg(np.arange(600) / 30.0)
    loaded = kg.sum(axis=1) > 25
    empty = kg.sum(axis=1) == 0
    assert loaded.sum() > 100 and empty.sum() > 60
    for frame in values[loaded][::20]:
        runs = footprints(frame)
        assert len(runs) == 2, runs
        assert runs[0][1] <= 12 <= runs[1][0]  # one each side of the midline
        assert frame[:8].sum() < 0.02 * frame.sum()  # in the lower half
    assert (values[empty] == 0).mean() > 0.9  # a small noise floor, zero most places
    left, right = values[loaded][:, :, :12].sum(), values[loaded][:, :, 12:].sum()
    ratio_model = kg[loaded, 0].sum() / kg[loaded, 1].sum()
    assert left / right == pytest.approx(ratio_model, rel=0.05)


def test_mat_matrix_lines_and_noise_free_frame() -> None:
    url = "sim://mat?rows=8&cols=10&protocol=matrix_lines&speed=50&noise=0&session=20"
    with open_sim(url) as port:
        data = read_bytes(port, 40 * 200)
    lines = data.split(b"\r\n")[:-1]
    frames = np.array([[int(v) for v in line.split(b",")] for line in lines])
    assert frames.shape[1] == 80
    expected = np.stack([mat_frame(k / 30.0, url).ravel() for k in range(len(frames))])
    assert np.array_equal(frames, expected)
    assert mat_frame(12.0, url).dtype == np.uint16 and mat_frame(12.0, url).max() > 1000


def test_channel_names_are_documented_order() -> None:
    header, _ = read_lines("sim://loadcells?blocks=4&speed=20", 1)
    assert header == "time_ms,left,right,left2,right2"
    assert re.fullmatch(r"time_ms,left", read_lines("sim://loadcells?blocks=1&speed=20", 1)[0])
