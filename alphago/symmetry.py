"""The 8 dihedral symmetries of the square board, for planes and policies.

``point_map(n)[s, p]`` is where point p goes under symmetry s (pass stays
pass). Symmetry 0 is the identity; ``inverse(s)`` undoes s.
"""

from __future__ import annotations

import functools

import numpy as np

NUM_SYMMETRIES = 8


def _apply_rc(s: int, r, c, n: int):
    if s & 4:  # transpose first
        r, c = c, r
    if s & 1:
        r = n - 1 - r
    if s & 2:
        c = n - 1 - c
    return r, c


@functools.lru_cache(maxsize=None)
def point_map(n: int) -> np.ndarray:
    """[8, n*n+1] int16: image of every point (and pass) under each symmetry."""
    out = np.empty((NUM_SYMMETRIES, n * n + 1), np.int16)
    r, c = np.divmod(np.arange(n * n), n)
    for s in range(NUM_SYMMETRIES):
        rr, cc = _apply_rc(s, r, c, n)
        out[s, :-1] = rr * n + cc
        out[s, -1] = n * n
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=None)
def _inverse_table() -> tuple[int, ...]:
    pm = point_map(5)
    inv = []
    for s in range(NUM_SYMMETRIES):
        for t in range(NUM_SYMMETRIES):
            if np.array_equal(pm[t][pm[s]], np.arange(26)):
                inv.append(t)
                break
    return tuple(inv)


def inverse(s: int) -> int:
    return _inverse_table()[s]


def apply_planes(planes: np.ndarray, s: int) -> np.ndarray:
    """Transform [..., n, n] planes by symmetry s (same convention as point_map)."""
    out = planes
    if s & 4:
        out = np.swapaxes(out, -1, -2)
    if s & 1:
        out = out[..., ::-1, :]
    if s & 2:
        out = out[..., :, ::-1]
    return np.ascontiguousarray(out)


def to_board_frame(policies: np.ndarray, syms, n: int) -> np.ndarray:
    """Policies [B, n*n+1] a network gave for planes seen under ``syms[b]``, back in the
    board's frame: the net saw board point p at ``point_map(n)[s, p]``."""
    idx = point_map(n).astype(np.int64)[np.asarray(syms, np.int64)]
    return np.take_along_axis(policies, idx, axis=-1)


def moves_in_net_frame(moves: np.ndarray, syms, n: int) -> np.ndarray:
    """Board moves [B] as the network sees them under ``syms[b]`` (training targets)."""
    return point_map(n).astype(np.int64)[np.asarray(syms, np.int64), moves.astype(np.int64)]


def apply_policy(policy: np.ndarray, s: int, n: int) -> np.ndarray:
    """Transform a [..., n*n+1] policy: out[..., map[s, p]] = policy[..., p]."""
    out = np.empty_like(policy)
    out[..., point_map(n)[s]] = policy
    return out
