"""The domain: sessions, calibration, the store, metrics, plots, exports, the recorder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sensing.store import Store


def open_store(path: Any = None) -> Store:
    """Open the session store at ``path`` (default: $SOTLOG_STORE, else the user data dir)."""
    from sensing.store import Store

    return Store.open(path)
