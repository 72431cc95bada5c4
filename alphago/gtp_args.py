"""Typed arguments of GTP commands, shared by every handler group: the error a handler
raises, colours and numbers parsed in one place."""

from __future__ import annotations

import math

from alphago.board import BLACK, WHITE


class GtpError(Exception):
    """A command failure: its text is the GTP error message."""


def parse_color(s: str) -> int:
    c = s.strip().lower()
    if c in ("b", "black"):
        return BLACK
    if c in ("w", "white"):
        return WHITE
    raise GtpError("invalid color")


def color_name(c: int) -> str:
    return "black" if c == BLACK else "white"


def parse_int(s: str, what: str = "integer") -> int:
    try:
        return int(s)
    except ValueError:
        raise GtpError(f"{what} not an integer") from None


def parse_float(s: str, what: str = "number") -> float:
    try:
        value = float(s)
    except ValueError:
        raise GtpError(f"{what} not a number") from None
    if not math.isfinite(value):
        raise GtpError(f"{what} not a finite number")
    return value
