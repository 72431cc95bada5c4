"""Position: a thin Python object that owns the rules-kernel arrays."""

from __future__ import annotations

import functools

import numpy as np

from alphago import coords
from alphago.coords import MAX_SIZE, MIN_SIZE  # noqa: F401  (re-exported)
from alphago.kernels import board as kb

BLACK, WHITE, EMPTY = kb.BLACK, kb.WHITE, kb.EMPTY

_REASONS = {
    kb.OCCUPIED: "occupied",
    kb.SUICIDE: "suicide",
    kb.KO: "ko",
    kb.SUPERKO: "superko",
    kb.OFFBOARD: "off board",
}
_ASCII = {".": EMPTY, "+": EMPTY, "X": BLACK, "x": BLACK, "#": BLACK, "O": WHITE, "o": WHITE}


class IllegalMove(ValueError):
    """A move the rules forbid; ``reason`` is one of occupied/suicide/ko/superko/off board."""

    def __init__(self, reason: str, move: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.move = move


def opponent(color: int) -> int:
    return 3 - color


@functools.lru_cache(maxsize=None)
def zobrist_keys(n: int) -> np.ndarray:
    """Fixed, seeded keys so that hashes are stable across runs. [3, n*n] int64."""
    rng = np.random.default_rng(0x5EED + n)
    keys = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=(3, n * n),
                        dtype=np.int64)
    keys[0] = 0
    return keys


@functools.lru_cache(maxsize=None)
def to_move_key(n: int) -> int:
    return int(np.random.default_rng(0xC0102 + n).integers(1, 2**62))


@functools.lru_cache(maxsize=None)
def geometry(n: int) -> tuple[np.ndarray, np.ndarray]:
    return kb.make_geometry(n)


class Position:
    """A Go position with history: rules, superko, undo by snapshot, scoring."""

    def __init__(self, size: int = 19, komi: float = 7.5, superko: bool = True):
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"board size {size} not in {MIN_SIZE}..{MAX_SIZE}")
        self.size = size
        self.komi = float(komi)
        self.superko = superko
        self.nbr, self.diag = geometry(size)
        self.zob = zobrist_keys(size)
        self.st = np.zeros((kb.NF, size * size), np.int32)  # [NF, n*n] int32
        self.meta = np.zeros(kb.NM, np.int64)  # [NM] int64
        self.hist = np.zeros(512, np.int64)  # [H] int64 board hashes
        self.moves: list[tuple[int, int]] = []  # (color, point) in order, setup excluded
        self._undo: list[tuple] = []
        kb.clear(self.st, self.meta, size)
        self._push_hash()

    # ----- state -----------------------------------------------------------
    @property
    def pass_move(self) -> int:
        return self.size * self.size

    @property
    def to_move(self) -> int:
        return int(self.meta[kb.M_TOMOVE])

    @to_move.setter
    def to_move(self, color: int) -> None:
        if color not in (BLACK, WHITE):
            raise ValueError(f"bad colour {color}")
        if color != self.to_move:
            self.meta[kb.M_KO] = -1  # a ko ban binds only the player who was to move
        self.meta[kb.M_TOMOVE] = color

    @property
    def ko(self) -> int:
        return int(self.meta[kb.M_KO])

    @property
    def passes(self) -> int:
        return int(self.meta[kb.M_PASSES])

    @property
    def last_move(self) -> int:
        return int(self.meta[kb.M_LAST])

    @property
    def move_number(self) -> int:
        return int(self.meta[kb.M_MOVES])

    @property
    def board_hash(self) -> int:
        return int(self.meta[kb.M_HASH])

    @property
    def key(self) -> int:
        """Hash of stones, side to move and ko point: equal keys mean equal positions."""
        k = self.board_hash ^ (to_move_key(self.size) if self.to_move == WHITE else 0)
        return k ^ (self.ko + 1) * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF

    def captures(self, color: int) -> int:
        """Stones captured BY ``color``."""
        return int(self.meta[kb.M_CAPS_B if color == BLACK else kb.M_CAPS_W])

    @property
    def colors(self) -> np.ndarray:
        """[n, n] int32 view: 0 empty, 1 black, 2 white (row 0 at the top)."""
        return self.st[kb.F_COLOR].reshape(self.size, self.size)

    def color_at(self, p: int) -> int:
        return int(self.st[kb.F_COLOR, p])

    def liberties(self, p: int) -> int:
        """Liberties of the chain through p (0 for an empty point)."""
        if self.st[kb.F_COLOR, p] == EMPTY:
            return 0
        return int(self.st[kb.F_LIBS, self.st[kb.F_HEAD, p]])

    def is_game_over(self) -> bool:
        return self.passes >= 2

    # ----- moves -----------------------------------------------------------
    def _push_hash(self) -> None:
        n = int(self.meta[kb.M_NHIST])
        if n >= len(self.hist) - 1:
            self.hist = np.concatenate([self.hist, np.zeros_like(self.hist)])
        self.hist[n] = self.meta[kb.M_HASH]
        self.meta[kb.M_NHIST] = n + 1

    def _snapshot(self) -> tuple:
        return (self.st.copy(), self.meta.copy(), len(self.moves))

    def legality(self, p: int, color: int | None = None) -> int:
        """kernel code (0 = legal) for ``color`` (default: side to move) at p."""
        color = self.to_move if color is None else color
        return int(kb.legal(self.st, self.meta, self.hist, self.nbr, self.zob, p, color,
                            self.superko))

    def is_legal(self, p: int, color: int | None = None) -> bool:
        return self.legality(p, color) == kb.OK

    def play(self, p: int, color: int | None = None) -> None:
        """Play p (pass = n*n) for ``color`` (default: side to move); raises IllegalMove."""
        if not 0 <= p <= self.pass_move:
            raise IllegalMove("off board", p)
        if int(self.meta[kb.M_NHIST]) >= len(self.hist) - 1:
            self.hist = np.concatenate([self.hist, np.zeros_like(self.hist)])
        snap = self._snapshot()
        if color is not None and color != self.to_move:
            self.to_move = color
        code = kb.play(self.st, self.meta, self.hist, self.nbr, self.zob, p, self.superko)
        if code != kb.OK:
            self.st, self.meta = snap[0], snap[1]
            raise IllegalMove(_REASONS[code], p)
        self._undo.append(snap)
        self.moves.append((3 - self.to_move, p))

    def undo(self) -> None:
        """Take back the last move; raises IndexError when there is none."""
        if not self._undo:
            raise IndexError("no move to undo")
        self.st, self.meta, nmoves = self._undo.pop()
        del self.moves[nmoves:]

    def can_undo(self) -> bool:
        return bool(self._undo)

    def setup(self, black=(), white=(), empty=()) -> None:
        """Place or remove stones outside the move sequence (handicap, SGF AB/AW/AE).

        Chains left without liberties are removed, as sgfmill's ``apply_setup`` does.
        """
        for pts, c in ((black, BLACK), (white, WHITE), (empty, EMPTY)):
            for p in pts:
                if not 0 <= p < self.pass_move:
                    raise ValueError(f"setup point {p} off board")
                self.st[kb.F_COLOR, p] = c
        kb.rebuild(self.st, self.meta, self.nbr, self.zob)
        dead = [p for p in range(self.pass_move)
                if self.st[kb.F_COLOR, p] != EMPTY and self.liberties(p) == 0]
        if dead:
            self.st[kb.F_COLOR, dead] = EMPTY
            kb.rebuild(self.st, self.meta, self.nbr, self.zob)
        self.meta[kb.M_KO] = -1
        self._push_hash()
        self._undo.clear()  # setup stones cannot be undone (GTP: handicap)

    def legal_moves(self) -> np.ndarray:
        """[n*n+1] uint8 mask of legal moves for the side to move, pass included."""
        out = np.zeros(self.pass_move + 1, np.uint8)
        kb.legal_mask(self.st, self.meta, self.hist, self.nbr, self.zob, self.superko, out)
        return out

    def sensible_moves(self) -> np.ndarray:
        """``legal_moves`` without the side to move's own true eyes. [n*n+1] uint8."""
        out = np.zeros(self.pass_move + 1, np.uint8)
        kb.sensible_mask(self.st, self.meta, self.hist, self.nbr, self.diag, self.zob,
                         self.superko, out)
        return out

    def is_true_eye(self, p: int, color: int) -> bool:
        return bool(kb.is_true_eye(self.st, self.nbr, self.diag, p, color))

    def copy(self) -> "Position":
        new = object.__new__(Position)
        new.__dict__.update(self.__dict__)
        new.st = self.st.copy()
        new.meta = self.meta.copy()
        new.hist = self.hist.copy()
        new.moves = list(self.moves)
        new._undo = list(self._undo)
        return new

    # ----- scoring ---------------------------------------------------------
    def area_owner(self) -> np.ndarray:
        out = np.zeros(self.pass_move, np.int8)
        kb.area_owner(self.st, self.nbr, out)
        return out

    def score(self, komi: float | None = None) -> float:
        """Tromp-Taylor area score, black minus white minus komi."""
        return float(kb.area_score(self.st, self.nbr, self.komi if komi is None else komi))

    def result_string(self, komi: float | None = None) -> str:
        s = self.score(komi)
        if s == 0:
            return "0"
        return f"B+{s:g}" if s > 0 else f"W+{-s:g}"

    # ----- text ------------------------------------------------------------
    @classmethod
    def from_ascii(cls, text: str, to_move: int = BLACK, komi: float = 7.5,
                   superko: bool = True) -> "Position":
        """Board from rows of X (black), O (white), . or + (empty), top row first."""
        rows = ["".join(ch for ch in line if not ch.isspace()) for line in text.splitlines()]
        rows = [r for r in rows if r]
        n = len(rows)
        if any(len(r) != n for r in rows):
            raise ValueError("ASCII board must be square")
        pos = cls(n, komi=komi, superko=superko)
        black, white = [], []
        for r, line in enumerate(rows):
            for c, ch in enumerate(line):
                if ch not in _ASCII:
                    raise ValueError(f"bad board character {ch!r}")
                if _ASCII[ch] == BLACK:
                    black.append(r * n + c)
                elif _ASCII[ch] == WHITE:
                    white.append(r * n + c)
        pos.setup(black, white)
        pos.to_move = to_move
        return pos

    def __str__(self) -> str:
        n = self.size
        cols = coords.GTP_COLUMNS[:n]
        lines = ["   " + " ".join(cols)]
        for r in range(n):
            row = " ".join(".XO"[v] for v in self.st[kb.F_COLOR, r * n:(r + 1) * n])
            lines.append(f"{n - r:2d} {row} {n - r:2d}")
        lines.append("   " + " ".join(cols))
        return "\n".join(lines)

    def to_ascii(self) -> str:
        """Rows of X/O/. only, as ``from_ascii`` reads them."""
        n = self.size
        return "\n".join("".join(".XO"[v] for v in self.st[kb.F_COLOR, r * n:(r + 1) * n])
                         for r in range(n))


def max_fixed_handicap(n: int) -> int:
    """The most stones GTP's fixed handicap places on an n x n board (0: none there)."""
    if n < 7:
        return 0
    return 4 if n % 2 == 0 or n == 7 else 9


def fixed_handicap_points(n: int, count: int) -> list[int]:
    """GTP's fixed handicap layout (4th line from 13x13, 3rd below; centre on odd boards)."""
    if not 2 <= count <= max_fixed_handicap(n):
        raise ValueError("invalid number of stones")
    e = 3 if n >= 13 else 2
    lo, hi, mid = e, n - 1 - e, n // 2

    def pt(col, row_from_bottom):
        return (n - 1 - row_from_bottom) * n + col

    corners = [pt(lo, lo), pt(hi, hi), pt(lo, hi), pt(hi, lo)]  # D4 Q16 D16 Q4
    sides = [pt(lo, mid), pt(hi, mid), pt(mid, lo), pt(mid, hi)]  # D10 Q10 K4 K16
    centre = pt(mid, mid)
    if count <= 4:
        return corners[:count]
    if count == 5:
        return corners + [centre]
    if count == 6:
        return corners + sides[:2]
    if count == 7:
        return corners + sides[:2] + [centre]
    if count == 8:
        return corners + sides
    return corners + sides + [centre]
