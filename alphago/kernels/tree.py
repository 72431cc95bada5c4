"""PUCT search tree as preallocated struct-of-arrays (numba).

Edges live in the parent: for node s and action a (a point or pass)

- ``N`` int32 [M, A]   visits (including virtual losses in flight)
- ``W`` float32 [M, A] total value of the edge, from the view of the player to move at s
- ``P`` float32 [M, A] prior; 0 for illegal actions
- ``C`` int32 [M, A]   child node, -1 while unexpanded
- ``info`` int64 [4]   number of nodes in use, root index, -, -

Nodes store no board: a simulation replays its path from a copy of the root.
Selection is AlphaGo's ``argmax Q + u``, ``u = c_puct P sqrt(sum_b N_b) / (1 + N)``,
with Q = 0 for unvisited edges. ``banned`` [D, A] uint8 holds the actions selection may
not take at depth d < D (0: the root's move; analysis's avoid and allow); D = 0: none.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from alphago.kernels.board import M_PASSES, commit

I_NODES, I_ROOT = 0, 1  # slots of ``info``

# the tree's arrays as one argument of the batch kernels (numba takes named tuples)
Tree = namedtuple("Tree", ["N", "W", "P", "C", "info"])


@njit(cache=True)
def reset(N, W, P, C, info):
    """Empty tree with one root node (rows are cleared when new_node hands them out)."""
    N[0, :] = 0
    W[0, :] = 0.0
    P[0, :] = 0.0
    C[0, :] = -1
    info[I_NODES] = 1
    info[I_ROOT] = 0


@njit(cache=True)
def new_node(N, W, P, C, info, priors):
    """Allocate a node with these priors; -1 when the pool is full."""
    s = info[I_NODES]
    if s >= N.shape[0]:
        return -1
    info[I_NODES] = s + 1
    N[s, :] = 0
    W[s, :] = 0.0
    C[s, :] = -1
    P[s, :] = priors
    return s


def no_bans(actions: int) -> np.ndarray:
    """The ``banned`` table of a search without restrictions."""
    return np.zeros((0, actions), np.uint8)


@njit(cache=True)
def _puct_best(N, W, P, s, c_puct, banned, d):
    total = 0
    for a in range(N.shape[1]):
        total += N[s, a]
    sq = np.sqrt(max(total, 1))
    best = -1
    best_score = -1e30
    for a in range(N.shape[1]):
        p = P[s, a]
        if p <= 0.0 or (d < banned.shape[0] and banned[d, a]):
            continue
        n = N[s, a]
        q = W[s, a] / n if n > 0 else 0.0
        score = q + c_puct * p * sq / (1.0 + n)
        if score > best_score:
            best_score = score
            best = a
    return best


@njit(cache=True)
def puct_select(N, W, P, s, c_puct, banned, d):
    """Action maximising Q + u at node s, depth d (ties: lowest index), leaving out the
    actions ``banned`` there unless that leaves none. -1 if no action has a prior."""
    a = _puct_best(N, W, P, s, c_puct, banned, d)
    if a < 0 and d < banned.shape[0]:
        a = _puct_best(N, W, P, s, c_puct, banned, banned.shape[0])
    return a


@njit(cache=True)
def select_leaf(N, W, P, C, info, st, meta, hist, nbr, zob, c_puct, vl, path_s, path_a,
                banned):
    """Walk from the root, adding virtual loss, playing moves on (st, meta, hist),
    which hold a copy of the root position. Returns the path length; the last
    edge (path_s[d-1], path_a[d-1]) has no child yet, or the walk stopped at a
    finished game (two passes) or an unexpanded root. st/meta end at the leaf."""
    s = info[I_ROOT]
    d = 0
    while True:
        a = puct_select(N, W, P, s, c_puct, banned, d)
        if a < 0:
            return d
        N[s, a] += vl
        W[s, a] -= vl
        path_s[d] = s
        path_a[d] = a
        d += 1
        commit(st, meta, hist, nbr, zob, a)
        child = C[s, a]
        if child < 0 or meta[M_PASSES] >= 2 or d >= path_s.shape[0]:
            return d
        s = child


@njit(cache=True)
def backup(N, W, path_s, path_a, d, value, vl):
    """Undo the virtual loss and add one visit with ``value`` (from the view of the
    player to move at the leaf) along the path, alternating sides upward."""
    v = -value  # the last edge was chosen by the leaf's opponent
    for i in range(d - 1, -1, -1):
        s, a = path_s[i], path_a[i]
        N[s, a] += 1 - vl
        W[s, a] += vl + v
        v = -v


@njit(cache=True)
def revert_virtual_loss(N, W, path_s, path_a, d, vl):
    for i in range(d):
        N[path_s[i], path_a[i]] -= vl
        W[path_s[i], path_a[i]] += vl


@njit(cache=True)
def principal_variation(N, C, s, first, max_len, out):
    """Most-visited line from node s starting with action ``first``; returns its length."""
    out[0] = first
    k = 1
    node = C[s, first]
    while node >= 0 and k < max_len:
        best, best_n = -1, 0
        for a in range(N.shape[1]):
            if N[node, a] > best_n:
                best_n = N[node, a]
                best = a
        if best < 0:
            break
        out[k] = best
        k += 1
        node = C[node, best]
    return k
