"""``sensing.plainjson.plain``: what sotlog's objects become in JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from sensing.plainjson import dumps, plain


@dataclass
class Reading:
    kind: ClassVar[str] = "reading"  # a class variable is no field
    at: Path = Path("a/b.csv")
    values: np.ndarray = field(default_factory=lambda: np.array([1.5, math.nan]))


def test_a_dataclass_is_its_fields_and_a_missing_value_stays_missing() -> None:
    assert plain(Reading()) == {"at": "a/b.csv", "values": [1.5, None]}
    assert plain({"r": [Reading()]}) == {"r": [{"at": "a/b.csv", "values": [1.5, None]}]}
    assert plain(Reading) == repr(Reading)  # the class itself is not an instance
    assert '"values":[1.5,null]' in dumps(Reading())
