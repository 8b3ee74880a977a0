"""Plain JSON from what sotlog's objects hold: the one place values are cleaned for JSON.

numpy scalars and arrays (anything with ``tolist()``) become Python numbers and lists,
dataclasses and pydantic models their fields, objects with ``as_dict()`` that dict, and a float
that is not finite becomes ``null`` (JSON has no NaN): a missing value stays visibly missing,
never a made-up number. It imports no numpy, so light modules may use it.
"""

from __future__ import annotations

import json
import math
from pathlib import PurePath
from typing import Any


def plain(obj: Any) -> Any:
    """``obj`` as JSON-ready Python values (dict, list, str, int, float, bool, None)."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [plain(v) for v in obj]
    if hasattr(obj, "tolist"):  # a numpy array or scalar, without importing numpy to ask
        return plain(obj.tolist())
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "model_dump"):  # a pydantic model
        return plain(obj.model_dump())
    if hasattr(type(obj), "__dataclass_fields__"):  # a dataclass instance
        import dataclasses  # here: its import (inspect, ast) is a tenth of `sotlog sessions`

        return plain({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    if hasattr(obj, "as_dict"):
        return plain(obj.as_dict())
    return repr(obj)  # kept as text rather than lose the whole record


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Strict JSON text of ``obj`` (see ``plain``); compact without ``indent``."""
    separators = (",", ":") if indent is None else None
    return json.dumps(plain(obj), indent=indent, separators=separators, ensure_ascii=False,
                      allow_nan=False)
