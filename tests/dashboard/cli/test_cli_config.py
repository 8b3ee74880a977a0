"""A station's config file, through the real `sotlog`: the command line over the environment over
the file over the default; a wrong key or value is one line naming the file and the key."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.sensing.sync.conftest import SIM, record, sotlog
from tests.sensing.sync.shared import pg_rows, uuids

SECRET = "c0nf1g-pw"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three stores of one session each, told apart by subject code (file, env, cli: 1, 2, 3)."""
    folder = tmp_path_factory.mktemp("config")
    first = folder / "file.sqlite3"
    record(first, seed=61, seconds=2, subject="P-0001")
    found = {"file": first}
    for name, subject in (("env", "P-0002"), ("cli", "P-0003")):
        found[name] = Path(shutil.copy(first, folder / f"{name}.sqlite3"))
        with sqlite3.connect(found[name]) as conn:
            conn.execute("UPDATE sessions SET subject_code = ?", (subject,))
    return found


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def subjects(*args: str, env: dict[str, str] | None = None) -> list[str]:
    done = sotlog(*args, env=env)
    assert done.returncode == 0, done.stderr
    return [s["subject_code"] for s in json.loads(done.stdout)]


def test_the_command_line_over_the_environment_over_the_file_over_the_default(
        stores: dict[str, Path], tmp_path: Path) -> None:
    conf = write(tmp_path / "station.toml", f'store = "sqlite:///{stores["file"]}"\n')
    assert subjects("--config", str(conf), "sessions", "--json") == ["P-0001"]
    assert subjects("sessions", "--json", "--config", str(conf)) == ["P-0001"]  # after the verb
    assert subjects("sessions", "--json", env={"SOTLOG_CONFIG": str(conf)}) == ["P-0001"]
    env = {"SOTLOG_CONFIG": str(conf), "SOTLOG_STORE": str(stores["env"])}
    assert subjects("sessions", "--json", env=env) == ["P-0002"]
    assert subjects("sessions", "--json", "--store", str(stores["cli"]), env=env) == ["P-0003"]
    # The default place: $XDG_CONFIG_HOME/sotlog/config.toml, read with nothing named.
    home = tmp_path / "xdg"
    (home / "sotlog").mkdir(parents=True)
    write(home / "sotlog" / "config.toml", f'store = "{stores["env"]}"\n')
    assert subjects("sessions", "--json", env={"XDG_CONFIG_HOME": str(home)}) == ["P-0002"]
    # --config over $SOTLOG_CONFIG
    other = write(tmp_path / "other.toml", f'store = "{stores["cli"]}"\n')
    assert subjects("sessions", "--json", "--config", str(other),
                    env={"SOTLOG_CONFIG": str(conf)}) == ["P-0003"]


def test_the_shared_store_station_and_sync_come_from_the_file(
        stores: dict[str, Path], pg_url: str, tmp_path: Path) -> None:
    url = pg_url.replace("postgresql://sotlog@", f"postgresql://sotlog:{SECRET}@")
    conf = write(tmp_path / "room7.toml", f'store = "{stores["file"]}"\n'
                                          f'shared_store = "{url}"\nstation = "room7"\n'
                                          "[sync]\ninterval_s = 60\nat_exit_s = 20\n")
    done = sotlog("--config", str(conf), "sync", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["station"], result["copied"]) == ("room7", 1)
    assert SECRET not in done.stdout + done.stderr and "***" in result["to"]
    assert [r["station"] for r in pg_rows(pg_url, "SELECT station FROM sessions")] == ["room7"]
    # The environment names the station over the file, and --station over both (the store's
    # session is there already, so nothing clashes: the run only says who it is).
    env = {"SOTLOG_STATION": "room8"}
    assert json.loads(sotlog("--config", str(conf), "sync", "--json", env=env).stdout)[
        "station"] == "room8"
    assert json.loads(sotlog("--config", str(conf), "sync", "--json", "--station", "room9",
                             env=env).stdout)["station"] == "room9"

    # `record` runs the background sync of the file's shared store, under its station name.
    station = tmp_path / "room6.sqlite3"
    write(conf, f'store = "{station}"\nshared_store = "{url}"\nstation = "room6"\n')
    done = sotlog("--config", str(conf), "record", "--port", SIM.format(seed=62), "--profile",
                  "sim-loadcells", "--duration", "2", "--subject", "P-0062")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(station) as conn:
        (recorded,) = conn.execute("SELECT uuid FROM sessions").fetchone()
    assert recorded in uuids(pg_url)
    assert pg_rows(pg_url, "SELECT station FROM sessions WHERE uuid = %s",
                   (recorded,))[0]["station"] == "room6"


@pytest.mark.parametrize(("text", "said"), [
    ('stor = "x.sqlite3"\n', "unknown key 'stor'"),
    ("[sync]\ninterval = 60\n", "unknown key 'sync.interval'"),
    ("[sync]\ninterval_s = -5\n", "sync.interval_s: must be a positive number"),
    ("[sync]\nat_exit_s = 'soon'\n", "sync.at_exit_s: must be a positive number"),
    ("station = 7\n", "station: must be its name in the shared store, as text"),
    ('store = "ftp://host/x"\n', "store: store URL 'ftp://host/x'"),
    (f'shared_store = "sqlite:///x.sqlite3"\nstore = "postgresql://u:{SECRET}@h/db"\n',
     "shared_store: must be the shared store it syncs to"),
    (f'shared_store = "postgresql://u:{SECRET}@h/db\n', "is not TOML"),
    ("sync = 5\n", "sync: must be a table"),
])
def test_a_wrong_key_or_value_is_one_line_naming_the_file_and_the_key(
        tmp_path: Path, text: str, said: str) -> None:
    conf = write(tmp_path / "station.toml", text)
    done = sotlog("--config", str(conf), "sessions")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(conf) in lines[0] and said in lines[0], lines
    assert SECRET not in done.stderr


def test_a_config_file_named_and_not_there_is_one_line(tmp_path: Path) -> None:
    done = sotlog("sessions", env={"SOTLOG_CONFIG": str(tmp_path / "none.toml")})
    assert done.returncode == 2
    missing = tmp_path / "none.toml"
    assert done.stderr.strip() == f"sotlog: error: config file {missing} is not there"
