"""Bad profiles: each is refused in one line naming its key, the same by `sotlog profiles FILE`
as by `sotlog record`; random documents never raise anything but ProfileError."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.cli import main
from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles import (
    Channel,
    Matrix,
    SerialSettings,
    builtin_names,
    load_profile,
    parse_profile,
)
from firmware_bridge.profiles.schema import ChannelTable, MatrixTable, ProfileTable, SerialTable
from firmware_bridge.protocols import check_profile, make_decoder, read_size
from firmware_bridge.words import PROTOCOLS

ROOT = Path(__file__).resolve().parents[2]
SIM = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1"

CELLS = 'name = "t"\nprotocol = "lines"\n'
BLOCKFRAME = 'name = "t"\nprotocol = "blockframe"\n'
M1616 = 'name = "t"\nprotocol = "m1616"\n'
SNOWBOARD = 'name = "t"\nprotocol = "snowboard"\n'
ONE = '[[channels]]\nname = "a"\n'
TWO = '[[channels]]\nname = "a"\n[[channels]]\nname = "b"\n'
GRID = "[matrix]\nrows = 4\ncols = 4\n"
M16 = "[matrix]\nrows = 16\ncols = 16\n"


def serial(line: str) -> str:
    return f"{CELLS}[serial]\n{line}\n{ONE}"


def lines_option(line: str) -> str:
    return f"{CELLS}[options]\n{line}\n{ONE}"

# (id, profile text, where the line says the fault is ("" = the whole profile), what it says)
# Refused by the schema, as the file is read:
SCHEMA_FAULTS = [
    # what the test pass found
    ("rows text", BLOCKFRAME + '[matrix]\nrows = "32"\ncols = 4\n', "[matrix] rows",
     'must be a whole number from 1 to 256, not "32"'),
    ("raw_min text", BLOCKFRAME + GRID + 'raw_min = "a"\n', "[matrix] raw_min",
     'must be a finite number, not "a"'),
    ("pitch half text", BLOCKFRAME + GRID + 'pitch_mm = [1, "x"]\n', "[matrix] pitch_mm",
     'not [1, "x"]'),
    ("matrix a number", BLOCKFRAME + "matrix = 5\n", "[matrix]", "must be a table, not 5"),
    ("channels numbers", CELLS + "channels = [1, 2]\n", "[[channels]] #1",
     "must be a table, not 1 (and 1 more problem)"),
    ("scale text", CELLS + ONE + 'scale = "abc"\n', "[[channels]] #1 scale", 'not "abc"'),
    ("offset list", CELLS + ONE + "offset = [1, 2]\n", "[[channels]] #1 offset", "not [1, 2]"),
    ("rows fraction", BLOCKFRAME + "[matrix]\nrows = 1.5\ncols = 4\n", "[matrix] rows",
     "not 1.5"),
    ("matrix and channels", BLOCKFRAME + ONE + GRID, "[matrix]", "not both"),
    ("huge mat", BLOCKFRAME + "[matrix]\nrows = 100_000_000\ncols = 100_000_000\n",
     "[matrix] rows", "not 100000000"),
    ("rate nan", CELLS + "nominal_rate_hz = nan\n" + ONE, "nominal_rate_hz",
     "must be a number above 0 and at most 10000, not nan"),
    ("channel named 5", CELLS + "[[channels]]\nname = 5\n", "[[channels]] #1 name", "not 5"),
    ('channel named "5"', CELLS + '[[channels]]\nname = "5"\n', "[[channels]] #1 name",
     'starting with a letter, not "5"'),
    ("baud text", serial('baudrate = "fast"'), "[serial] baudrate",
     'not "fast"'),
    ("matrix dtype object", BLOCKFRAME + GRID + 'dtype = "object"\n', "[matrix] dtype",
     'not "object"'),
    # unknown keys, at every level
    ("top key", CELLS + "ramp = 1\n" + ONE, "ramp", "unknown key (known here: name, protocol"),
    ("serial key", serial("ramp = 1"), "[serial] ramp", "unknown key"),
    ("key of two lines", serial('"ra\\nmp" = 1'), '[serial] "ra\\nmp"', "unknown key"),
    ("channel key", CELLS + ONE + "ramp = 1\n", "[[channels]] #1 ramp", "unknown key"),
    ("matrix key", BLOCKFRAME + GRID + "ramp = 1\n", "[matrix] ramp", "unknown key"),
    # the top level
    ("no name", 'protocol = "lines"\n' + ONE, "name", "is required but missing"),
    ("blank name", 'name = " "\nprotocol = "lines"\n' + ONE, "name", 'not " "'),
    ("unknown protocol", 'name = "t"\nprotocol = "morse"\n' + ONE, "protocol", 'not "morse"'),
    ("description of two lines", CELLS + 'description = "a\\nb"\n' + ONE, "description",
     'not "a\\nb"'),
    ("stall zero", CELLS + "stall_after_s = 0\n" + ONE, "stall_after_s", "not 0"),
    ("stall text", CELLS + 'stall_after_s = "1s"\n' + ONE, "stall_after_s", "not"),
    ("rate zero", CELLS + "nominal_rate_hz = 0\n" + ONE, "nominal_rate_hz", "not 0"),
    ("rate inf", CELLS + "nominal_rate_hz = inf\n" + ONE, "nominal_rate_hz", "not inf"),
    ("rate true", CELLS + "nominal_rate_hz = true\n" + ONE, "nominal_rate_hz", "not true"),
    ("rate too high", CELLS + "nominal_rate_hz = 1e6\n" + ONE, "nominal_rate_hz",
     "not 1000000.0"),
    ("serial a number", CELLS + "serial = 3\n" + ONE, "[serial]", "must be a table, not 3"),
    ("options a list", CELLS + "options = [1]\n" + ONE, "[options]", "must be a table, not [1]"),
    ("channels a table", CELLS + '[channels]\nname = "a"\n', "[[channels]]",
     "must be tables ([[channels]] each), not a table"),
    ("neither channels nor matrix", CELLS, "",
     "a profile needs [[channels]] (load cells) or a [matrix] (a mat)"),
    ("65 channels", CELLS + "".join(f'[[channels]]\nname = "c{i}"\n' for i in range(65)),
     "[[channels]]", "at most 64 tables, not 65"),
    # [serial]
    ("baud zero", serial("baudrate = 0"), "[serial] baudrate",
     "from 300 to 12000000, not 0"),
    ("bytesize 9", serial("bytesize = 9"), "[serial] bytesize",
     "must be one of 5, 6, 7, 8, not 9"),
    ("parity X", serial('parity = "X"'), "[serial] parity", 'not "X"'),
    ("stopbits 3", serial("stopbits = 3"), "[serial] stopbits",
     "one of 1, 1.5, 2, not 3"),
    ("stopbits true", serial("stopbits = true"), "[serial] stopbits",
     "not true"),
    ("rtscts text", serial('rtscts = "yes"'), "[serial] rtscts",
     'must be true or false, not "yes"'),
    # [[channels]]
    ("same name twice", CELLS + '[[channels]]\nname = "left"\n[[channels]]\nname = "left"\n',
     "[[channels]] #2 name", '"left" is channel #1\'s name already'),
    ("same name another case", CELLS + '[[channels]]\nname = "left"\n'
     '[[channels]]\nname = "Left"\n', "[[channels]] #2 name", "whatever their case"),
    ("name with a space", CELLS + '[[channels]]\nname = "left cell"\n', "[[channels]] #1 name",
     'not "left cell"'),
    ("no channel name", CELLS + "[[channels]]\nunit = \"kg\"\n", "[[channels]] #1 name",
     "is required but missing"),
    ("channel unit psi", CELLS + ONE + 'unit = "psi"\n', "[[channels]] #1 unit", 'not "psi"'),
    ("block middle", CELLS + ONE + 'block = "middle"\n', "[[channels]] #1 block",
     'must be one of "left", "right", not "middle"'),
    ("scale zero", CELLS + ONE + "scale = 0\n", "[[channels]] #1 scale",
     "must be a finite number other than 0, not 0"),
    ("scale inf", CELLS + ONE + "scale = inf\n", "[[channels]] #1 scale", "not inf"),
    ("offset nan", CELLS + ONE + "offset = -nan\n", "[[channels]] #1 offset", "not nan"),
    ("column -1", CELLS + ONE + "column = -1\n", "[[channels]] #1 column",
     "must be a 0-based column number from 0 to 4095, or a header name"),
    ("column fraction", CELLS + ONE + "column = 1.5\n", "[[channels]] #1 column", "not 1.5"),
    ("column true", CELLS + ONE + "column = true\n", "[[channels]] #1 column", "not true"),
    ("column blank", CELLS + ONE + 'column = " "\n', "[[channels]] #1 column", 'not " "'),
    # [matrix]
    ("rows 0", BLOCKFRAME + "[matrix]\nrows = 0\ncols = 4\n", "[matrix] rows", "not 0"),
    ("cols 257", BLOCKFRAME + "[matrix]\nrows = 4\ncols = 257\n", "[matrix] cols", "not 257"),
    ("cols missing", BLOCKFRAME + "[matrix]\nrows = 4\n", "[matrix] cols", "is required"),
    ("pitch zero", BLOCKFRAME + GRID + "pitch_mm = 0\n", "[matrix] pitch_mm", "not 0"),
    ("pitch of three", BLOCKFRAME + GRID + "pitch_mm = [1.0, 2.0, 3.0]\n", "[matrix] pitch_mm",
     "or two of them [row, col], not [1.0, 2.0, 3.0]"),
    ("raw range reversed", BLOCKFRAME + GRID + "raw_min = 10\nraw_max = 5\n",
     "[matrix] raw_min", "must be below raw_max (5), not 10"),
    ("raw range beyond dtype", BLOCKFRAME + GRID + 'dtype = "uint8"\nraw_max = 4095\n',
     "[matrix] raw_max", "must fit dtype uint8 (0 to 255), not 4095"),
    ("noise above range", BLOCKFRAME + GRID + "noise_threshold = 300\n",
     "[matrix] noise_threshold", "must be below raw_max (255), not 300"),
    ("head edge north", BLOCKFRAME + GRID + 'head_edge = "north"\n', "[matrix] head_edge",
     'not "north"'),
    ("patient left west", BLOCKFRAME + GRID + 'patient_left = "west"\n',
     "[matrix] patient_left", 'not "west"'),
    ("head and left on one axis", BLOCKFRAME + GRID + 'head_edge = "left"\n',
     "[matrix] patient_left",
     'must be an edge beside head_edge "left": "top" or "bottom", not "left"'),
    ("matrix unit psi", BLOCKFRAME + GRID + 'unit = "psi"\n', "[matrix] unit", 'not "psi"'),
    ("matrix dtype uint17", BLOCKFRAME + GRID + 'dtype = "uint17"\n', "[matrix] dtype",
     'not "uint17"'),
    ("matrix scale nan", BLOCKFRAME + GRID + "scale = nan\n", "[matrix] scale", "not nan"),
    # the file
    ("not TOML", "name = \n", "", "not valid TOML"),
]
# Read, then refused by the profile's protocol:
PROTOCOL_FAULTS = [
    # what the test pass found
    ("lines unknown option", lines_option("bogus = 1"), "[options] for lines",
     "unknown key(s) bogus"),
    ("blockframe dtype object", BLOCKFRAME + '[options]\ndtype = "object"\n' + ONE,
     "[options] dtype", 'not "object"'),
    ("m1616 8x8", M1616 + "[matrix]\nrows = 8\ncols = 8\n", "[matrix] rows",
     "m1616 mats are 16x16: must be 16, not 8"),
    # unknown keys, at every level
    ("blockframe option", BLOCKFRAME + "[options]\nramp = 1\n" + ONE, "[options] ramp",
     "unknown key for blockframe (known: dtype)"),
    ("option of two lines", BLOCKFRAME + '[options]\n"a\\nb" = 1\n' + ONE,
     '[options] "a\\nb"', "unknown key for blockframe"),
    ("lines option of two lines", lines_option('"a\\nb" = 1'), "[options] for lines",
     'unknown key(s) "a\\nb"'),
    ("blockframe mat dtype option", BLOCKFRAME + '[options]\ndtype = "int32"\n' + GRID,
     "[options] dtype", "unknown key for blockframe (known: none)"),
    ("m1616 option", M1616 + '[options]\npoll_byte = "A"\n' + M16, "[options] poll_byte",
     "unknown key for m1616"),
    ("matrix_lines option", 'name = "t"\nprotocol = "matrix_lines"\n[options]\nprefix = ""\n'
     + GRID, "[options] for matrix_lines", "unknown key(s) prefix"),
    ("snowboard option", SNOWBOARD + "[options]\ntime_column = 0\n"
     "[matrix]\nrows = 16\ncols = 10\n", "[options] for snowboard", "time_column"),
    # the protocols' own constraints
    ("lines with a matrix", CELLS + GRID, "[matrix]", "lines reads load cells"),
    ("matrix_lines with channels", 'name = "t"\nprotocol = "matrix_lines"\n' + ONE,
     "[[channels]]", "needs a [matrix]"),
    ("snowboard 16x16", SNOWBOARD + M16, "[matrix] cols",
     "snowboard mats are 16x10: must be 10, not 16"),
    ("snowboard channels", SNOWBOARD + ONE, "[[channels]]", "needs a [matrix]"),
    ("m1616 channels", M1616 + ONE, "[[channels]]", "needs a [matrix]"),
    ("m1616 uint8", M1616 + M16 + 'dtype = "uint8"\n', "[matrix] dtype",
     'm1616 sends uint16 values: must be "uint16", not "uint8"'),
    ("blockframe int8", BLOCKFRAME + '[options]\ndtype = "int8"\n' + ONE, "[options] dtype",
     'must be a dtype blockframe carries (float32, float64, int16, int32, uint16, uint32, '
     'uint8), not "int8"'),
    ("blockframe float16 mat", BLOCKFRAME + GRID + 'dtype = "float16"\n', "[matrix] dtype",
     'not "float16"'),
    ("blockframe dtype list", BLOCKFRAME + '[options]\ndtype = ["int32"]\n' + ONE,
     "[options] dtype", 'not ["int32"]'),
    ("blockframe column", BLOCKFRAME + ONE + "column = 1\n", "[[channels]] #1 column",
     "leave column out"),
    ("header name without header", lines_option('header = "no"')
     + 'column = "left"\n', "[[channels]] #1 column", 'needs [options] header = "auto" or "yes"'),
    ("column of the time", CELLS + "[options]\ntime_column = 1\n" + ONE + "column = 1\n",
     "[[channels]] #1 column", "1 is the time column too; two values cannot share a column"),
    ("one column twice", CELLS + TWO.replace('"a"\n', '"a"\ncolumn = 2\n')
     .replace('"b"\n', '"b"\ncolumn = 2\n'), "[[channels]] #2 column",
     "2 is channel #1's column too"),
    ("lines delimiter", lines_option('delimiter = "::"'), "[options] for lines",
     "delimiter"),
    ("lines time_unit", lines_option('time_unit = "min"'), "[options] for lines",
     "time_unit"),
    ("lines header", lines_option('header = "maybe"'), "[options] for lines",
     "header"),
    ("lines time_column", lines_option("time_column = -1"), "[options] for lines",
     "time_column"),
    ("lines time_unit list", lines_option("time_unit = []"), "[options] for lines",
     "time_unit"),
    ("lines prefix", lines_option("prefix = 5"), "[options] for lines", "prefix"),
    ("lines first_line", lines_option('first_line = "drop"'),
     "[options] for lines", "first_line"),
    ("snowboard poll_byte", SNOWBOARD + '[options]\npoll_byte = "AB"\n'
     "[matrix]\nrows = 16\ncols = 10\n", "[options] for snowboard", "poll_byte"),
]
def cases(faults: list[tuple[str, str, str, str]]) -> list[Any]:
    return [pytest.param(text, where, says, id=case) for case, text, where, says in faults]


def said(err: pytest.ExceptionInfo[ProfileError], where: str, says: str) -> None:
    """``err`` is one line: the file, then ``where``, and ``says`` in it."""
    message = str(err.value)
    assert message.startswith(f"my.toml: {where}: " if where else "my.toml: ")
    assert says in message
    assert "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("text, where, says", cases(SCHEMA_FAULTS))
def test_the_schema_refuses_in_one_line_naming_the_key(text: str, where: str, says: str) -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile(text, "my.toml")
    said(err, where, says)


@pytest.mark.parametrize("text, where, says", cases(PROTOCOL_FAULTS))
def test_the_protocol_refuses_in_one_line_naming_the_key(text: str, where: str,
                                                         says: str) -> None:
    profile = parse_profile(text, "my.toml")
    with pytest.raises(ProfileError) as err:
        check_profile(profile)
    said(err, where, says)


@pytest.mark.parametrize("text, where, says", cases(SCHEMA_FAULTS + PROTOCOL_FAULTS))
def test_profiles_verb_and_record_refuse_alike(text: str, where: str, says: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("my.toml").write_text(text, "utf-8")
    assert main(["profiles", "my.toml"]) == 2
    out, line = capsys.readouterr()
    assert out == "" and line.startswith("sotlog: error: my.toml: ") and line.count("\n") == 1
    assert says in line
    assert main(["record", "--port", SIM, "--profile", "my.toml", "--duration", "1",
                 "--store", str(tmp_path / "s.sqlite3")]) == 2
    assert capsys.readouterr() == ("", line)


def test_the_command_line_says_one_line_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_text(BLOCKFRAME + '[matrix]\nrows = "32"\ncols = 4\n', "utf-8")
    done = subprocess.run([sys.executable, "-m", "dashboard.cli", "profiles", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"sotlog: error: {path}: [matrix] rows: must be a whole number from "
                           '1 to 256, not "32"\n')


def test_a_good_file_is_printed_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    text = load_profile("hx711-arduino").source.replace('"hx711-arduino"', '"mine"')
    Path("mine.toml").write_text(text, "utf-8")
    assert main(["profiles", "mine.toml"]) == 0
    assert capsys.readouterr() == (text, "")


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    head = (CELLS + 'description = "caf').encode()
    path.write_bytes(head + b'\xe9"\n' + ONE.encode())  # latin-1, as an old editor saves it
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == (f"{path}: not UTF-8 text (byte 0xe9 at offset {len(head)}); save "
                              "the file as UTF-8")


def test_a_utf8_file_may_begin_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "my.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (CELLS + 'description = "café"\n' + ONE).encode())
    assert load_profile(path).description == "café"


def test_read_size_checks_as_make_decoder_does() -> None:
    profile = parse_profile(BLOCKFRAME + '[options]\ndtype = "object"\n' + ONE, "my.toml")
    for ask in (read_size, make_decoder):
        with pytest.raises(ProfileError, match=r"^my\.toml: \[options\] dtype: "):
            ask(profile)


# -- what a good profile reads as -------------------------------------------------------------

def test_values_a_person_may_write() -> None:
    profile = parse_profile(CELLS + "nominal_rate_hz = 80\n[serial]\nstopbits = 1.5\n"
                            "bytesize = 7\nparity = \"E\"\nrtscts = true\n"
                            '[[channels]]\nname = "left_front-2"\ncolumn = "Left (kg)"\n'
                            "scale = -2\noffset = 1\n", "my.toml")
    check_profile(profile)
    assert profile.nominal_rate_hz == 80.0 and isinstance(profile.nominal_rate_hz, float)
    assert profile.serial == SerialSettings(bytesize=7, parity="E", stopbits=1.5, rtscts=True)
    assert profile.channels == (Channel(name="left_front-2", column="Left (kg)", scale=-2.0,
                                        offset=1.0),)
    mat = parse_profile(BLOCKFRAME + GRID + 'pitch_mm = [8, 12.5]\nraw_min = -10\n'
                        'dtype = "int16"\n')
    assert mat.matrix == Matrix(rows=4, cols=4, pitch_mm=(8.0, 12.5), raw_min=-10.0,
                                dtype="int16")
    assert parse_profile(BLOCKFRAME + GRID + "pitch_mm = 7\n").matrix.pitch_mm == (7.0, 7.0)
    turned = parse_profile(BLOCKFRAME + GRID + 'head_edge = "left"\npatient_left = "bottom"\n')
    assert turned.matrix == Matrix(rows=4, cols=4, head_edge="left", patient_left="bottom")


def test_a_key_left_out_takes_the_dataclass_default() -> None:
    profile = parse_profile(BLOCKFRAME + GRID)
    assert profile.serial == SerialSettings()
    assert profile.matrix == Matrix(rows=4, cols=4)
    assert parse_profile(CELLS + ONE).channels == (Channel(name="a"),)


@pytest.mark.parametrize("table, shape", [(SerialTable, SerialSettings), (ChannelTable, Channel),
                                          (MatrixTable, Matrix)])
def test_each_table_declares_the_dataclass_fields(table: Any, shape: Any) -> None:
    assert list(table.model_fields) == list(shape.__dataclass_fields__)


def test_the_top_level_declares_the_profile_fields_but_where_it_came_from() -> None:
    from firmware_bridge.profiles import Profile

    assert set(ProfileTable.model_fields) == set(Profile.__dataclass_fields__) - {"source",
                                                                                   "path"}


@pytest.mark.parametrize("table", [ProfileTable, SerialTable, ChannelTable, MatrixTable])
def test_docs_name_every_key(table: Any) -> None:
    doc = (ROOT / "docs" / "profiles.md").read_text("utf-8")
    spelt = {key: (f"`{key}`", f"`[{key}]`", f"`[[{key}]]`") for key in table.model_fields}
    assert not [key for key, ways in spelt.items() if not any(w in doc for w in ways)]


# -- random documents -------------------------------------------------------------------------

def toml(value: Any) -> str:
    """``value`` as a TOML value (tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # nan, inf, -inf and 1e+300 are TOML too
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml(k)} = {toml(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict[str, Any]) -> str:
    return "\n".join(f"{toml(k)} = {toml(v)}" for k, v in doc.items())


SCALARS = st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.dates() | st.text(
    max_size=8)
ANY = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                   | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def pick(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def some(keys: dict[str, st.SearchStrategy[Any]], most: int, wild: bool,
         needed: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """A table: the ``needed`` keys and up to ``most`` others, each with a likely value, or when
    ``wild`` perhaps any value at all, and perhaps a key no table has."""
    def values(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({k: keys[k] | ANY if wild else keys[k]
                                      for k in (*needed, *names)})
    others = sorted(set(keys) - set(needed))
    table = st.lists(st.sampled_from(others), max_size=most, unique=True).flatmap(values)
    if not wild:
        return table
    stray = st.dictionaries(pick("ramp", "Rows", ""), ANY, max_size=1)
    return st.tuples(table, stray).map(lambda t: {**t[0], **t[1]})


SIZES = pick(16, 10, 4, 1) | st.integers(-1, 300)
SERIAL = {"baudrate": pick(9600, 115200, 0), "bytesize": pick(7, 8, 9),
          "parity": pick("N", "E", "X"), "stopbits": pick(1, 1.5, 2.0, 3),
          "rtscts": st.booleans(), "dsrdtr": pick(0, False)}
OPTIONS = {"delimiter": pick("auto", ",", "tab", "::"), "header": pick("auto", "yes", "no"),
           "time_column": st.integers(-1, 4) | pick("t", "time"),
           "time_unit": pick("s", "ms", "min"), "prefix": pick("auto", "", "R: "),
           "first_line": pick("skip", "keep"), "poll_byte": pick("A", "AB"),
           "dtype": pick("int32", "float64", "uint16", "int8", "object")}
CHANNEL = {"name": pick("left", "right", "Left", "c2", "5", "a b"),
           "column": st.integers(-1, 4) | pick("t", "left"), "unit": pick("kg", "counts", "psi"),
           "block": pick("left", "middle"), "scale": st.floats(), "offset": st.floats()}
MATRIX = {"rows": SIZES, "cols": SIZES, "pitch_mm": st.floats(-1, 30) | st.lists(st.floats(0, 30)),
          "raw_min": st.integers(-5, 300), "raw_max": st.integers(-5, 70_000),
          "dtype": pick("uint8", "uint16", "float32", "int8", "object"),
          "head_edge": pick("top", "left", "north"),
          "patient_left": pick("right", "bottom", "west"),
          "unit": pick("raw", "kPa", "psi"), "scale": st.floats(), "offset": st.floats(),
          "noise_threshold": st.floats(-10, 300)}


def document(wild: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A profile document: wild ones are mostly refused by the schema, the others mostly get
    as far as their protocol's check, or a decoder."""
    top = some({"name": pick("t", "my mat"), "protocol": st.sampled_from(sorted(PROTOCOLS)),
                "description": pick("", "a mat"), "nominal_rate_hz": st.floats(0.5, 100),
                "serial": some(SERIAL, 2, wild), "options": some(OPTIONS, 2, wild)},
               3, wild, ("name", "protocol"))
    cells = st.fixed_dictionaries({"channels": st.lists(some(CHANNEL, 3, wild, ("name",)),
                                                        min_size=1, max_size=4)})
    mat = st.fixed_dictionaries({"matrix": some(MATRIX, 4, wild, ("rows", "cols"))})
    both = st.tuples(cells, mat).map(lambda t: {**t[0], **t[1]})
    body = st.one_of(cells, cells, mat, mat, both, st.just({}))
    return st.tuples(top, body).map(lambda t: {**t[0], **t[1]})


def refused_or_read(text: str, data: bytes) -> None:
    """Refused with one line, or checked, built into a decoder and fed without a complaint."""
    try:
        profile = parse_profile(text, "fuzz.toml")
        decoder = make_decoder(profile)
    except ProfileError as err:
        assert str(err).startswith("fuzz.toml: ") and "\n" not in str(err)
        return
    assert decoder.frame_shape == profile.frame_shape
    decoder.feed(data, 0.0)
    decoder.flush(1.0)


@settings(max_examples=500, deadline=None)
@given(document(wild=False) | document(wild=True), st.binary(max_size=600))
def test_random_documents_raise_nothing_but_profile_errors(doc: dict[str, Any],
                                                           data: bytes) -> None:
    refused_or_read(toml_document(doc), data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(builtin_names()),
       st.sampled_from(sorted(OPTIONS)).flatmap(  # one key: its value is surely looked at
           lambda key: st.fixed_dictionaries({key: OPTIONS[key] | ANY}))
       | some(OPTIONS, 3, wild=True), st.binary(max_size=300))
def test_random_options_raise_nothing_but_profile_errors(name: str, options: dict[str, Any],
                                                         data: bytes) -> None:
    doc = tomllib.loads(load_profile(name).source)  # a device every other key of fits
    refused_or_read(toml_document({**doc, "options": options}), data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(builtin_names()),
       st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3), st.sampled_from(
           list('"=[]{}.,#\n 0159-xe') + ["nan", "inf", "true", '""', "[[channels]]"])),
           min_size=1, max_size=4),
       st.binary(max_size=300))
def test_damaged_builtins_raise_nothing_but_profile_errors(
        name: str, edits: list[tuple[float, int, str]], data: bytes) -> None:
    text = load_profile(name).source
    for where, cut, put in edits:
        i = int(where * len(text))
        text = text[:i] + put + text[i + cut:]
    refused_or_read(text, data)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # one file, rewritten
@given(st.binary(max_size=200))
def test_any_bytes_in_a_file_raise_nothing_but_profile_errors(tmp_path: Path,
                                                              data: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    try:
        check_profile(load_profile(path))
    except ProfileError as err:
        assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
