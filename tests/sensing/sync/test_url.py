"""The store is a URL: one parser for every face, and no password ever shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.cli import main
from firmware_bridge.errors import StoreError
from sensing.store.config import configured
from sensing.store.url import POSTGRESQL, SQLITE, parse, redact

SECRET = "s3cr-et"


@pytest.mark.parametrize(("text", "path"), [
    ("clinic.sqlite3", Path("clinic.sqlite3")),
    ("/srv/sotlog/clinic.sqlite3", Path("/srv/sotlog/clinic.sqlite3")),
    ("sqlite:///clinic.sqlite3", Path("clinic.sqlite3")),
    ("sqlite:////srv/sotlog/clinic.sqlite3", Path("/srv/sotlog/clinic.sqlite3")),
    ("SQLITE:///a/b.db", Path("a/b.db")),
])
def test_a_path_or_a_sqlite_url_is_a_sqlite_file(text: str, path: Path) -> None:
    store = parse(text)
    assert (store.backend, store.path) == (SQLITE, path)


@pytest.mark.parametrize("text", ["postgresql://station1@db.clinic/sotlog",
                                  "postgres:///sotlog?host=/run/postgresql"])
def test_a_postgresql_url(text: str) -> None:
    store = parse(text)
    assert (store.backend, store.url, store.path) == (POSTGRESQL, text, None)


@pytest.mark.parametrize("text", ["mysql://h/db", "sqlite://host/x.db", "sqlite:///x.db?mode=ro",
                                  "sqlite:///", "postgresql:host"])
def test_a_store_url_sotlog_cannot_use_is_one_line(text: str) -> None:
    with pytest.raises(StoreError) as err:
        parse(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("url", [
    f"postgresql://station1:{SECRET}@db.clinic:5432/sotlog?sslmode=verify-full",
    f"postgresql://station1:{SECRET}/x#y@db.clinic/sotlog",  # not percent-encoded, hidden whole
    f"postgresql://station1@db.clinic/sotlog?password={SECRET}&sslmode=require",
    f"postgresql:///sotlog?host=/run/postgresql&PassWord={SECRET}",
    f"host=db.clinic user=station1 password={SECRET} dbname=sotlog",
    f"host=db.clinic password = '{SECRET} x' dbname=sotlog",
])
def test_redact_hides_every_password(url: str) -> None:
    shown = redact(url)
    assert SECRET not in shown and "***" in shown
    assert "db.clinic" in shown or "/run/postgresql" in shown  # still says where


@pytest.mark.parametrize("url", [f"postgresql://u:{SECRET}@h:notaport/db",
                                 f"postgresql://u:{SECRET} x@/db?host=/run/postgresql",
                                 f"postgresql://u@h/db?password={SECRET}%20x"])
def test_a_message_quoting_the_password_does_not_show_it(url: str) -> None:
    """libpq's errors quote fragments of the URL; the password of the URL is hidden in them."""
    from sensing.store.pg.schema import connect

    for message in (f'unexpected spaces found in "{SECRET} x"', f"could not connect to {url}",
                    f"bad value {SECRET}"):
        assert SECRET not in redact(message, url)
    with pytest.raises(StoreError) as err:
        connect(url)
    assert SECRET not in str(err.value) and "\n" not in str(err.value)


def test_a_url_without_a_password_shows_as_given() -> None:
    url = "postgresql://station1@db.clinic:5432/sotlog?sslmode=verify-full"
    assert redact(url) == url
    assert str(parse(url)) == url


def test_a_parsed_url_shows_redacted() -> None:
    assert SECRET not in str(parse(f"postgresql://u:{SECRET}@h/db"))
    assert SECRET not in repr(parse(f"postgresql://u:{SECRET}@h/db"))


def test_the_environment_names_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOTLOG_STORE", f"sqlite:///{tmp_path}/env.sqlite3")
    assert configured().path == tmp_path / "env.sqlite3"
    assert configured(str(tmp_path / "given.sqlite3")).path == tmp_path / "given.sqlite3"


def test_a_sqlite_url_is_the_store_every_command_opens(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "clinic.sqlite3"
    assert main(["sessions", "--store", f"sqlite:///{store}"]) == 0
    assert store.exists()
    assert "no sessions recorded yet" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "says"), [
    (["show", "1"], "cannot connect to"),  # show reads the shared store: this one is not there
    (["record", "--port", "sim://loadcells", "--profile", "sim-loadcells", "--duration", "1"],
     "a station records into its own SQLite store")])
def test_a_postgresql_store_a_command_cannot_use_is_one_line(
        argv: list[str], says: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOTLOG_STORE", f"postgresql://station1:{SECRET}@db.clinic/sotlog")
    assert main(argv) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1, out
    assert SECRET not in out.err
    assert says in out.err and "station1:***@db.clinic" in out.err


@pytest.mark.parametrize(("argv", "says"), [
    (["sync"], "no shared store"),
    (["sync", "--to", "/srv/shared.sqlite3"], "the shared store is a PostgreSQL URL"),
])
def test_sync_without_a_postgresql_target_is_one_line(
        argv: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SOTLOG_SHARED_STORE", raising=False)
    assert main([*argv, "--store", str(tmp_path / "s.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err, err
