"""Where the session store is, as a URL: a path, ``sqlite:///path`` or ``postgresql://…``.

One parser for every face (``--store``, ``SOTLOG_STORE``, the config file, the web settings, the
Python API), and one way to show a URL: ``redact``, which never lets a password through. Which
store is meant (the command line, the environment, the config file) is sensing.store.config's.

SQLite URLs follow SQLAlchemy's form, so a URL written for one works in the other:
``sqlite:///sessions.sqlite3`` is relative to the working folder, ``sqlite:////srv/s.sqlite3``
is absolute. A plain path (no scheme) is a SQLite file, as it always was.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from firmware_bridge.errors import StoreError

ENV_VAR = "SOTLOG_STORE"
SHARED_ENV = "SOTLOG_SHARED_STORE"  # the shared store a station syncs to
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
SCHEMES = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "postgres": POSTGRESQL}
EXTRA = "pip install 'sotlog[postgres]'"
HIDDEN = "***"

# Where a password can sit in a URL or a libpq "key=value" string, for redact's last pass
# (compiled on first use: `sotlog sessions` starts without it).
_PASSWORD_WORD = r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)"
_USERINFO = r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):\S*@"  # user:password@, in any text


def _scheme(text: str) -> str | None:
    """The scheme of ``scheme://…``, or None."""
    head, sep, _ = text.partition("://")
    if sep and head[:1].isalpha() and all(c.isalnum() or c in "+.-" for c in head):
        return head
    return None


class StoreURL:
    """A parsed store location: its backend, and the file (SQLite) or the URL (PostgreSQL).

    A plain class: a dataclass costs milliseconds at import, which `sotlog sessions` pays.
    """

    __slots__ = ("backend", "path", "url")

    def __init__(self, backend: str, path: Path | None = None, url: str = "") -> None:
        self.backend = backend  # SQLITE or POSTGRESQL
        self.path = path  # the SQLite file
        self.url = url  # the PostgreSQL URL as given (it may hold a password: show it by redact)

    def __str__(self) -> str:
        return str(self.path) if self.backend == SQLITE else redact(self.url)

    def __repr__(self) -> str:  # a log line or a traceback shows no password either
        return f"StoreURL({self.backend!r}, {str(self)!r})"


def parse(text: str | Path) -> StoreURL:
    """The store named by ``text``; a one-line StoreError for a scheme sotlog has no store for."""
    if isinstance(text, Path):
        return StoreURL(SQLITE, text.expanduser())
    given = _scheme(text)
    if given is None:
        if text.lower().startswith(("sqlite:", "postgresql:", "postgres:")):
            raise StoreError(f"store URL {redact(text)!r} needs '//' after the scheme "
                             "(sqlite:///path, postgresql://host/db)")
        return StoreURL(SQLITE, Path(text).expanduser())
    scheme = SCHEMES.get(given.lower())
    if scheme is None:
        raise StoreError(f"store URL {redact(text)!r}: sotlog stores are a path, sqlite:///path "
                         "or postgresql://host/db, not " + given)
    if scheme == POSTGRESQL:
        return StoreURL(POSTGRESQL, url=text)
    parts = urlsplit(text)
    if parts.netloc:
        raise StoreError(f"store URL {text!r}: a SQLite URL names no host (sqlite:///relative "
                         "or sqlite:////absolute path)")
    if parts.query or parts.fragment:
        raise StoreError(f"store URL {text!r}: a SQLite URL takes no options")
    path = parts.path[1:]  # the third '/' ends the empty host; what follows is the path
    if not path:
        raise StoreError(f"store URL {text!r} names no file")
    return StoreURL(SQLITE, Path(path).expanduser())


def redact(text: str, url: str = "") -> str:
    """``text`` (a URL, or a message that quotes one) with every password replaced by ``***``:
    in a URL's user part, a ``password=`` option or libpq word, and, given the ``url`` a message
    is about (else ``text`` itself), that URL's password wherever the message quotes it (libpq
    quotes fragments).

    A URL's user part ends at the last ``@``, so a password holding ``/``, ``#`` or ``@`` (which
    a URL should percent-encode, and people do not) is hidden whole.
    """
    for secret in sorted(_secrets(url or text), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    text = re.sub(_USERINFO, r"\1:" + HIDDEN + "@", text)
    return re.sub(_PASSWORD_WORD, lambda m: m.group(1) + HIDDEN, text)


def _secrets(url: str) -> list[str]:
    """The passwords written in ``url``: as written, percent-decoded, and their words."""
    found = []
    scheme = _scheme(url)
    if scheme is not None:
        userinfo, at, _ = url[len(scheme) + 3:].rpartition("@")
        if at and ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    found += [m.group(2).strip("'") for m in re.finditer(_PASSWORD_WORD, url)]
    whole = {v for s in found for v in (s, unquote(s)) if v and v != HIDDEN}
    pieces = {p for v in whole for p in v.split() if len(p) >= 3}  # libpq quotes pieces
    return [*whole, *pieces]
