"""What OpenSLO v1 export and import share: names, duration shorthand, annotations.

OpenSLO v1 (https://github.com/OpenSLO/OpenSLO, `apiVersion: openslo/v1`) names objects
like Kubernetes (RFC 1123 labels: lowercase letters, digits, `-`, at most 63) and writes
durations as a positive integer and one unit (`m h d w M Q Y`). Escalator's own names
(camelCase journeys) and the parts OpenSLO has no field for (an availability SLI's
event lists, a tier's short window) travel in ``metadata.annotations`` under
``escalator.dev/``, so an export imports back unchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = [
    "API_VERSION",
    "PREFIX",
    "SOURCE_TYPE",
    "dns_name",
    "parse_shorthand",
    "shorthand",
]

API_VERSION = "openslo/v1"
PREFIX = "escalator.dev/"  # annotation keys: the OpenSLO key syntax, a prefix of our own
SOURCE_TYPE = "escalator"  # metricSource.type: counted from escalator's event logs

_UNITS = [("w", timedelta(weeks=1)), ("d", timedelta(days=1)), ("h", timedelta(hours=1))]
_SHORTHAND = re.compile(r"^([1-9]\d*)([mhdwMQY])$")
_STEP = {"m": timedelta(minutes=1), **dict(_UNITS)}


def dns_name(*parts: str) -> str:
    """``orderToShip``, ``shipped`` -> ``order-to-ship-shipped`` (RFC 1123, at most 63)."""
    text = "-".join(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", p) for p in parts).lower()
    text = re.sub(r"[^a-z0-9-]+", "-", text).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    return text[:63].rstrip("-") or "x"


def shorthand(value: timedelta) -> str:
    """A duration in OpenSLO's shorthand, the largest unit that divides it exactly
    (``28d`` -> ``4w``, ``90m`` -> ``90m``). ValueError below whole minutes."""
    for unit, step in _UNITS:
        if value % step == timedelta(0):
            return f"{value // step}{unit}"
    if value % timedelta(minutes=1) == timedelta(0) and value > timedelta(0):
        return f"{value // timedelta(minutes=1)}m"
    raise ValueError(f"{value} is not whole minutes: OpenSLO durations have no seconds")


def parse_shorthand(text: object) -> timedelta:
    """OpenSLO shorthand -> timedelta. Months, quarters and years have no fixed length:
    refused with what to write instead."""
    match = _SHORTHAND.match(str(text)) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected a duration like 5m, 1h, 28d or 4w, got {text!r}")
    count, unit = int(match.group(1)), match.group(2)
    if unit in "MQY":
        raise ValueError(
            f"{text!r}: months, quarters and years have no fixed length in escalator; "
            "write days (e.g. 30d) or weeks"
        )
    return count * _STEP[unit]
