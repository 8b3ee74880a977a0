"""A station's settings, read in one place and one order: the command line, then the
environment, then the station's config file, then the default.

The config file is TOML: ``--config FILE`` (any verb), else ``$SOTLOG_CONFIG``, else
``config.toml`` in the user config folder (``$XDG_CONFIG_HOME/sotlog/config.toml`` on Linux,
which need not be there). It holds where the station records (``store``), the shared store it
syncs to (``shared_store``), its name there (``station``) and the background sync's timing
(``[sync]``); docs/multi-station.md shows one. An unknown key or a bad value is one line naming
the file and the key. A password is never shown: every URL in a message goes through ``redact``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from firmware_bridge.errors import StoreError
from sensing.store.url import ENV_VAR, POSTGRESQL, SHARED_ENV, SQLITE, StoreURL, parse, redact

CONFIG_ENV = "SOTLOG_CONFIG"
STATION_ENV = "SOTLOG_STATION"
SYNC_INTERVAL_S = 300.0  # the background sync runs this often, and when a session ends
SYNC_AT_EXIT_S = 10.0  # how long record and serve wait, on exit, for the last session's copy

# Each key of the file, and its meaning for the one-line error; [sync] keys are "sync.<key>".
KEYS = {
    "store": "the session store: a file, sqlite:///file or postgresql://user@host/db",
    "shared_store": "the shared store it syncs to: postgresql://user@host/db",
    "station": "its name in the shared store",
    "sync.interval_s": "seconds between background syncs",
    "sync.at_exit_s": "seconds record and serve wait on exit for the last copy",
}

_given: Path | None = None  # --config, set by the command line


def use_file(path: str | Path | None) -> None:
    """Read the config from ``path`` (``--config``) rather than from $SOTLOG_CONFIG or the
    user config folder; None goes back to those."""
    global _given
    _given = None if path is None else Path(path).expanduser()


def config_path() -> tuple[Path, bool]:
    """The config file, and whether it was named (``--config`` or $SOTLOG_CONFIG: then it must
    be there)."""
    if _given is not None:
        return _given, True
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named).expanduser(), True
    import platformdirs

    return Path(platformdirs.user_config_dir("sotlog")) / "config.toml", False


class FileSettings:
    """What the config file says (None or the default for what it does not).

    A plain class, as StoreURL is: a dataclass costs milliseconds at import, which every verb
    would pay.
    """

    __slots__ = ("path", "store", "shared_store", "station", "sync_interval_s", "sync_at_exit_s")

    def __init__(self, path: Path | None = None, store: StoreURL | None = None,
                 shared_store: StoreURL | None = None, station: str | None = None,
                 sync_interval_s: float = SYNC_INTERVAL_S,
                 sync_at_exit_s: float = SYNC_AT_EXIT_S) -> None:
        self.path = path
        self.store = store
        self.shared_store = shared_store
        self.station = station
        self.sync_interval_s = sync_interval_s
        self.sync_at_exit_s = sync_at_exit_s


_read: dict[tuple[Path, int], FileSettings] = {}  # by file and modification time


def file_settings() -> FileSettings:
    """The config file's settings, checked whole; none where no file is named or found."""
    path, named = config_path()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        if named:
            raise StoreError(f"config file {path} is not there") from None
        return FileSettings()
    except OSError as err:
        raise StoreError(f"config file {path} cannot be read: {err.strerror}") from err
    if (path, stamp) not in _read:
        _read[(path, stamp)] = _load(path)
    return _read[(path, stamp)]


def _load(path: Path) -> FileSettings:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise StoreError(f"config file {path} cannot be read: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise StoreError(f"config file {path} is not TOML: {redact(str(err))}") from err
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key == "sync":
            if not isinstance(value, dict):
                raise StoreError(f"config file {path}: sync: must be a table ([sync]), not "
                                 f"{value!r}")
            flat.update({f"sync.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    for key in flat:
        if key not in KEYS:
            raise StoreError(f"config file {path}: unknown key {key!r} (known: "
                             f"{', '.join(KEYS)})")

    def bad(key: str, why: str) -> StoreError:
        return StoreError(f"config file {path}: {key}: {why}")

    def text(key: str) -> str | None:
        value = flat.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise bad(key, f"must be {KEYS[key]}, as text")
        return value

    def seconds(key: str, default: float) -> float:
        value = flat.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or value <= 0:
            raise bad(key, f"must be a positive number of {KEYS[key]}, not {value!r}")
        return float(value)

    def store_url(key: str, backend: str | None = None) -> StoreURL | None:
        given = text(key)
        if given is None:
            return None
        try:
            url = parse(given)
        except StoreError as err:
            raise bad(key, str(err)) from err
        if backend is not None and url.backend != backend:
            raise bad(key, f"must be {KEYS[key]}, not {url}")
        return url

    return FileSettings(path, store_url("store"), store_url("shared_store", POSTGRESQL),
                        text("station"), seconds("sync.interval_s", SYNC_INTERVAL_S),
                        seconds("sync.at_exit_s", SYNC_AT_EXIT_S))


def configured(text: str | Path | None = None) -> StoreURL:
    """The store: ``text`` (``--store``), else ``$SOTLOG_STORE``, else the config file's
    ``store``, else ``sessions.sqlite3`` in the user data folder."""
    if text is not None and str(text) != "":
        return parse(text)
    env = os.environ.get(ENV_VAR)
    if env:
        return parse(env)
    kept = file_settings().store
    if kept is not None:
        return kept
    import platformdirs

    return StoreURL(SQLITE, Path(platformdirs.user_data_dir("sotlog")) / "sessions.sqlite3")


def sqlite_path(text: str | Path | None = None) -> Path:
    """The SQLite file of the configured store, for a face that records into it; a one-line
    StoreError saying where recording goes when it is the shared PostgreSQL store."""
    store = configured(text)
    if store.backend == POSTGRESQL or store.path is None:
        raise StoreError(f"{store} is the shared store, which is only read: a station records "
                         "into its own SQLite store (--store PATH, $SOTLOG_STORE) and "
                         "`sotlog sync` copies each session there")
    return store.path


def shared_store(target: str | None = None) -> StoreURL | None:
    """The shared store a station syncs to: ``target`` (``--to``), else
    ``$SOTLOG_SHARED_STORE``, else the config file's ``shared_store``; None where none is
    named. A URL that is not PostgreSQL is a one-line StoreError."""
    target = target or os.environ.get(SHARED_ENV)
    if not target:
        return file_settings().shared_store
    shared = parse(target)
    if shared.backend != POSTGRESQL:
        raise StoreError(f"the shared store is a PostgreSQL URL (postgresql://user@host/db), "
                         f"not {shared}")
    return shared


def required_shared_store(target: str | None = None) -> StoreURL:
    """``shared_store``, or a one-line StoreError saying how to name one."""
    shared = shared_store(target)
    if shared is None:
        raise StoreError(f"no shared store: give --to postgresql://user@host/db, set "
                         f"${SHARED_ENV}, or put shared_store in {config_path()[0]}")
    return shared


def station(given: str | None = None) -> str:
    """This station's name: ``given`` (``--station``), else ``$SOTLOG_STATION``, else the
    config file's ``station``, else the computer's host name."""
    named = given or os.environ.get(STATION_ENV) or file_settings().station
    if named:
        return named
    import socket  # only here: `sotlog sessions` starts without it

    return socket.gethostname()
