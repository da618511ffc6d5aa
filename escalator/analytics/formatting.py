"""How report figures read, shared by the terminal and the HTML renderers."""

from __future__ import annotations

__all__ = ["format_percent", "format_seconds"]


def format_seconds(value: float | None, *, gap: str = "", minutes: str = "m") -> str:
    """A duration in the largest unit that keeps it readable: ``12.5m``, ``3.0h``, ``2.1d``."""
    if value is None:
        return "-"
    if value < 3600:
        return f"{value / 60:.1f}{gap}{minutes}"
    if value < 86400:
        return f"{value / 3600:.1f}{gap}h"
    return f"{value / 86400:.1f}{gap}d"


def format_percent(value: float | None, *, gap: str = "") -> str:
    return "-" if value is None else f"{value * 100:.2f}{gap}%"
