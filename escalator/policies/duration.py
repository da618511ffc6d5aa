"""Durations as people write them in policy files: ``15m``, ``2h``, ``28d``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["Duration", "format_duration", "parse_duration"]

_PART = re.compile(r"(\d+(?:\.\d+)?)(w|d|h|m|s)")
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: Any) -> timedelta:
    """Parse ``15m``/``2h``/``28d``/``1h30m``; a timedelta passes through.

    Bare numbers are refused on purpose: ``15`` could mean minutes or seconds.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a duration such as '15m', '2h' or '28d', got {value!r}")
    text = value.strip().replace(" ", "")
    pos, seconds = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError(
            f"expected a duration such as '15m', '2h', '1h30m' or '28d' "
            f"(units w, d, h, m, s), got {value!r}"
        )
    return timedelta(seconds=seconds)


def format_duration(td: timedelta) -> str:
    """The inverse of :func:`parse_duration`, shortest form: ``2h10m``, ``1.5s``.

    Exact to the microsecond: policies cross the Temporal boundary in this
    form, so rounding here would change a snapshot's timers.
    """
    micros = td // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    whole, frac = divmod(micros, 1_000_000)
    out = []
    for unit in ("d", "h", "m"):
        size = _UNIT[unit]
        if whole >= size:
            out.append(f"{whole // size}{unit}")
            whole %= size
    if whole or frac:
        seconds = f"{whole}.{frac:06d}".rstrip("0") if frac else str(whole)
        out.append(f"{seconds}s")
    return sign + "".join(out)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    # Editors validate what people type (`2h`), not pydantic's ISO 8601 form.
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(\d+(\.\d+)?\s*[wdhms]\s*)+$",
            "examples": ["15m", "2h", "1h30m", "28d", "1w"],
        }
    ),
]
