"""Helpers shared by the compat modules."""

from __future__ import annotations

import re
from typing import Any

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def check_url(value: Any) -> str:
    """flute-alc parses Content-Location as an absolute URL and raises TypeError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"content_location must be a str, not {type(value).__name__}")
    if not _SCHEME.match(value):
        raise TypeError("relative URL without a base")
    return value


def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    """An int in lo..=hi: TypeError for a non-int, OverflowError when out of range (as a
    pyo3 conversion to a Rust integer does in flute-alc)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise OverflowError(f"{name}: {value} does not fit in the target type")
    return value


CENC_NAMES = {0: None, 1: "zlib", 2: "deflate", 3: "gzip"}
U16 = (1 << 16) - 1
U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
