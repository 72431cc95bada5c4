"""End-of-game judgement: Monte Carlo ownership, dead stones, final score, status lists.

Ownership is the mean Tromp-Taylor owner over random playouts (own true eyes
kept) from the position: +1 black, -1 white. A chain whose points end up owned
by the opponent in most playouts is dead. This is the classic playout-based
scorer of MC engines; it is reliable once the game is settled.
"""

from __future__ import annotations

import numpy as np

from alphago.board import BLACK, WHITE, Position
from alphago.kernels import board as kb

DEAD_THRESHOLD = 0.3  # mean ownership beyond this on the opponent's side marks a chain dead


def ownership(pos: Position, playouts: int = 200, seed: int = 0) -> np.ndarray:
    """[n*n] float in [-1, 1]: expected owner, black positive."""
    kb.seed_rng(seed)
    nn = pos.size * pos.size
    total = np.zeros(nn, np.float64)
    owner = np.zeros(nn, np.int8)
    hist = np.empty(0, np.int64)
    for _ in range(playouts):
        st, meta = pos.st.copy(), pos.meta.copy()
        meta[kb.M_PASSES] = 0
        kb.random_playout(st, meta, hist, pos.nbr, pos.diag, pos.zob, 3 * nn)
        kb.area_owner(st, pos.nbr, owner)
        total += (owner == BLACK).astype(np.float64) - (owner == WHITE)
    return total / playouts


def chains(pos: Position) -> list[list[int]]:
    """Every chain as a sorted list of points."""
    head = pos.st[kb.F_HEAD]
    groups: dict[int, list[int]] = {}
    for p in np.flatnonzero(pos.colors.ravel() != 0):
        groups.setdefault(int(head[p]), []).append(int(p))
    return [sorted(g) for g in groups.values()]


def dead_stones(pos: Position, playouts: int = 200, seed: int = 0) -> np.ndarray:
    """[n*n] bool: stones judged dead."""
    own = ownership(pos, playouts, seed)
    dead = np.zeros(pos.size * pos.size, bool)
    for g in chains(pos):
        sign = 1 if pos.color_at(g[0]) == BLACK else -1
        if sign * own[g].mean() < -DEAD_THRESHOLD:
            dead[g] = True
    return dead


def without_dead(pos: Position, dead: np.ndarray) -> Position:
    clean = Position(pos.size, pos.komi, superko=False)
    colors = pos.colors.ravel().copy()
    colors[dead] = 0
    clean.setup(np.flatnonzero(colors == BLACK), np.flatnonzero(colors == WHITE))
    return clean


def final_score(pos: Position, seed: int = 0) -> str:
    """GTP final_score text: 'B+3.5', 'W+0.5' or '0' (area scoring, dead stones removed)."""
    clean = without_dead(pos, dead_stones(pos, seed=seed))
    return clean.result_string()


def status_list(pos: Position, status: str, seed: int = 0) -> list[list[int]]:
    """GTP final_status_list: chains for alive/dead/seki, points for territories/dame."""
    dead = dead_stones(pos, seed=seed)
    if status in ("alive", "dead", "seki"):
        if status == "seki":
            return []  # seki is not told apart from life by the playout judge
        want_dead = status == "dead"
        return [g for g in chains(pos) if bool(dead[g[0]]) == want_dead]
    owner = without_dead(pos, dead).area_owner()
    empty_or_dead = (pos.colors.ravel() == 0) | dead
    code = {"black_territory": BLACK, "white_territory": WHITE, "dame": 0}[status]
    pts = np.flatnonzero(empty_or_dead & (owner == code))
    return [[int(p)] for p in pts]
