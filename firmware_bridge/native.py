"""The compiled passes over text (firmware_bridge/_ctext.c), where setup.py could build them.

``ctext`` is the extension module, or None where sotlog was installed without a C compiler and
Python's headers: then the numpy code beside each use does the same job, slower, and gives the
same result (the text decoders' numbers; the raw capture's bytes). Looked up at each use
(``native.ctext``), so a test can take it away.
"""

from __future__ import annotations

from types import ModuleType

ctext: ModuleType | None
try:
    from firmware_bridge import _ctext as ctext
except ImportError:  # built without a C compiler: numpy does the same, slower
    ctext = None
