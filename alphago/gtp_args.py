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


def parse_int(s: str, error: str = "syntax error") -> int:
    """An integer argument; ``error`` is the GTP message otherwise."""
    try:
        return int(s)
    except ValueError:
        raise GtpError(error) from None


def parse_float(s: str, error: str = "syntax error") -> float:
    """A finite number; ``error`` is the GTP message otherwise."""
    try:
        value = float(s)
    except ValueError:
        raise GtpError(error) from None
    if not math.isfinite(value):
        raise GtpError(error)
    return value


def need_args(args: list[str], count: int) -> None:
    """At least ``count`` arguments, else a syntax error."""
    if len(args) < count:
        raise GtpError("syntax error")
