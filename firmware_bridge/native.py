"""The compiled passes over text (firmware_bridge/_ctext.c), where setup.py could build them.

``ctext`` is the extension module, or None where sotlog was installed without a C compiler and
Python's headers: then the numpy code beside each use does the same job, slower, and gives the
same result (the text decoders' numbers; the raw capture's bytes). Looked up at each use
(``native.ctext``), so a test can take it away.

``only`` is the one check of a text's bytes against a set, in C where built.
"""

from __future__ import annotations

from types import ModuleType

ctext: ModuleType | None
try:
    from firmware_bridge import _ctext as ctext
except ImportError:  # built without a C compiler: numpy does the same, slower
    ctext = None


def only(body: bytes, allowed: bytes) -> bool:
    """Whether every byte of ``body`` is one of ``allowed``'s: one C pass that lets go of the
    GIL where built, else ``bytes.translate`` (which makes the bytes it would delete)."""
    if ctext is not None:
        return bool(ctext.only(body, allowed))
    return not body.translate(None, allowed)
