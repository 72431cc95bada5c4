"""The one place that converts between point representations.

A point is ``p = row * n + col`` with row 0 at the top of the board (as SGF and
as printed), pass is ``n * n``. GTP vertices name columns A..T without I and
count rows from the bottom ("Q16"); SGF points are two letters col,row from the
top-left ("pd"), with "" or "tt" (on boards up to 19) meaning pass.
"""

from __future__ import annotations

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
# the board sizes the engine supports (GUIs offer 9, 13 and 19), the one home of the range
MIN_SIZE, MAX_SIZE = 5, 19


class CoordError(ValueError):
    """A vertex or SGF point that does not name a point on this board."""


def pass_move(n: int) -> int:
    return n * n


def to_flat(row: int, col: int, n: int) -> int:
    if not (0 <= row < n and 0 <= col < n):
        raise CoordError(f"({row}, {col}) is off a {n}x{n} board")
    return row * n + col


def from_flat(p: int, n: int) -> tuple[int, int]:
    """(row, col) of a point; raises for pass or off-board values."""
    if not (0 <= p < n * n):
        raise CoordError(f"{p} is not a point of a {n}x{n} board")
    return divmod(p, n)


def to_gtp(p: int, n: int) -> str:
    if p == n * n:
        return "pass"
    row, col = from_flat(p, n)
    return f"{GTP_COLUMNS[col]}{n - row}"


def from_gtp(vertex: str, n: int) -> int:
    """Flat index of a GTP vertex (case-insensitive), ``n*n`` for pass."""
    v = vertex.strip().upper()
    if v == "PASS":
        return n * n
    if len(v) < 2 or v[0] not in GTP_COLUMNS[:n] or not v[1:].isdigit():
        raise CoordError(f"invalid coordinate {vertex!r}")
    col = GTP_COLUMNS.index(v[0])
    number = int(v[1:])
    if not 1 <= number <= n:
        raise CoordError(f"invalid coordinate {vertex!r}")
    return to_flat(n - number, col, n)


def to_sgf(p: int, n: int) -> str:
    if p == n * n:
        return ""
    row, col = from_flat(p, n)
    return chr(ord("a") + col) + chr(ord("a") + row)


def from_sgf(point: str, n: int) -> int:
    """Flat index of an SGF point; "" and (on boards up to 19) "tt" are pass."""
    s = point.strip()
    if s == "" or (s == "tt" and n <= 19):
        return n * n
    if len(s) != 2 or not s.isalpha() or not s.islower():
        raise CoordError(f"invalid SGF point {point!r}")
    col, row = ord(s[0]) - ord("a"), ord(s[1]) - ord("a")
    return to_flat(row, col, n)


def from_rowcol_sgfmill(rc: tuple[int, int] | None, n: int) -> int:
    """sgfmill counts rows from the bottom; None is pass."""
    if rc is None:
        return n * n
    row, col = rc
    return to_flat(n - 1 - row, col, n)


def to_rowcol_sgfmill(p: int, n: int) -> tuple[int, int] | None:
    if p == n * n:
        return None
    row, col = from_flat(p, n)
    return (n - 1 - row, col)
