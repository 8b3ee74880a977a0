"""Bad profiles: the schema refuses each in one line naming its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from firmware_bridge.errors import ProfileError
from firmware_bridge.profiles import (
    Channel,
    Matrix,
    SerialSettings,
    load_profile,
    parse_profile,
)
from firmware_bridge.profiles.schema import ChannelTable, MatrixTable, ProfileTable, SerialTable

ROOT = Path(__file__).resolve().parents[2]

CELLS = 'name = "t"\nprotocol = "lines"\n'
BLOCKFRAME = 'name = "t"\nprotocol = "blockframe"\n'
ONE = '[[channels]]\nname = "a"\n'
GRID = "[matrix]\nrows = 4\ncols = 4\n"


def serial(line: str) -> str:
    return f"{CELLS}[serial]\n{line}\n{ONE}"


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
    ("channel key", CELLS + ONE + "ramp = 1\n", "[[channels]] #1 ramp", "unknown key"),
    ("matrix key", BLOCKFRAME + GRID + "ramp = 1\n", "[matrix] ramp", "unknown key"),
    # the top level
    ("no name", 'protocol = "lines"\n' + ONE, "name", "is required but missing"),
    ("blank name", 'name = " "\nprotocol = "lines"\n' + ONE, "name", 'not " "'),
    ("unknown protocol", 'name = "t"\nprotocol = "morse"\n' + ONE, "protocol", 'not "morse"'),
    ("description of two lines", CELLS + 'description = "a\\nb"\n' + ONE, "description",
     'not "a\\nb"'),
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
    ("matrix unit psi", BLOCKFRAME + GRID + 'unit = "psi"\n', "[matrix] unit", 'not "psi"'),
    ("matrix dtype uint17", BLOCKFRAME + GRID + 'dtype = "uint17"\n', "[matrix] dtype",
     'not "uint17"'),
    ("matrix scale nan", BLOCKFRAME + GRID + "scale = nan\n", "[matrix] scale", "not nan"),
    # the file
    ("not TOML", "name = \n", "", "not valid TOML"),
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


# -- what a good profile reads as -------------------------------------------------------------

def test_values_a_person_may_write() -> None:
    profile = parse_profile(CELLS + "nominal_rate_hz = 80\n[serial]\nstopbits = 1.5\n"
                            "bytesize = 7\nparity = \"E\"\nrtscts = true\n"
                            '[[channels]]\nname = "left_front-2"\ncolumn = "Left (kg)"\n'
                            "scale = -2\noffset = 1\n", "my.toml")
    assert profile.nominal_rate_hz == 80.0 and isinstance(profile.nominal_rate_hz, float)
    assert profile.serial == SerialSettings(bytesize=7, parity="E", stopbits=1.5, rtscts=True)
    assert profile.channels == (Channel(name="left_front-2", column="Left (kg)", scale=-2.0,
                                        offset=1.0),)
    mat = parse_profile(BLOCKFRAME + GRID + 'pitch_mm = [8, 12.5]\nraw_min = -10\n'
                        'dtype = "int16"\n')
    assert mat.matrix == Matrix(rows=4, cols=4, pitch_mm=(8.0, 12.5), raw_min=-10.0,
                                dtype="int16")
    assert parse_profile(BLOCKFRAME + GRID + "pitch_mm = 7\n").matrix.pitch_mm == (7.0, 7.0)


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
