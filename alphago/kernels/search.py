"""One search batch in two compiled halves around the network call (numba).

The halves release the GIL, so that several search threads can keep batches in flight:
each gathers and scatters under the tree's lock and evaluates its leaves outside it.

``gather`` walks ``b`` simulations from the root under virtual loss and leaves,
per simulation: the leaf state, its recent moves, its legal-move mask, a key for
the evaluation cache, and a status saying what the leaf needs. ``fill_planes_*``
turns leaf states into network planes under a symmetry each. ``scatter`` turns
the (cached or fresh) evaluations into values and new nodes and backs them up.
Python only moves arrays between them, so the per-simulation cost is compiled.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from alphago.kernels.board import (M_HASH, M_KO, M_NHIST, M_PASSES, M_TOMOVE, legal_mask,
                                   outcome)
from alphago.kernels.features import fill_alphago, fill_basic
from alphago.kernels.tree import backup, new_node, select_leaf

# status of a simulation's leaf
SKIP, TERMINAL, ROLLOUT_ONLY, NET_EXPAND, NET_ONLY = range(5)

# one batch's per-simulation buffers, [B, ...] each: the leaf's kernel state (st, meta),
# its recent moves (last), legal-move mask, path (nodes paths_s, actions paths_a, depth),
# status and evaluation-cache key
Leaves = namedtuple("Leaves", ["st", "meta", "last", "mask", "paths_s", "paths_a", "depth",
                               "status", "key"])


@njit(cache=True)
def position_key(meta, last):
    """Cache key of what the network sees: stones, side to move, ko, recent moves."""
    k = meta[M_HASH] ^ (meta[M_TOMOVE] * np.int64(0x5BD1E995))
    k = k * np.int64(1000003) ^ (meta[M_KO] + 2)
    for j in range(last.shape[0]):
        k = k * np.int64(1000003) ^ (np.int64(last[j]) + 2)
    return k


@njit(cache=True, nogil=True)
def gather(tree, root_st, root_meta, root_hist, root_last, nbr, zob, c_puct, vl,
           expand_visits, need_net, leaves, banned):
    """Select ``leaves.st.shape[0]`` leaves of ``tree`` (a ``Tree``) into ``leaves`` (a
    ``Leaves``), never through an action ``banned`` at its depth (``tree.select_leaf``).
    A leaf whose edge has fewer than ``expand_visits`` visits (counting this one) gets a
    rollout only, unless ``need_net`` (value net in use, or nothing else to evaluate
    with)."""
    N, W, P, C, info = tree.N, tree.W, tree.P, tree.C, tree.info
    leaf_st, leaf_meta, leaf_last, masks = leaves.st, leaves.meta, leaves.last, leaves.mask
    paths_s, paths_a, depths = leaves.paths_s, leaves.paths_a, leaves.depth
    status, keys = leaves.status, leaves.key
    b = leaf_st.shape[0]
    h = leaf_last.shape[1]
    nh = root_meta[M_NHIST]
    hist = np.zeros(nh + paths_s.shape[1] + 1, np.int64)
    for i in range(b):
        st = leaf_st[i]
        meta = leaf_meta[i]
        st[:, :] = root_st
        meta[:] = root_meta
        hist[:nh] = root_hist[:nh]
        d = select_leaf(N, W, P, C, info, st, meta, hist, nbr, zob, c_puct, vl, paths_s[i],
                        paths_a[i], banned)
        depths[i] = d
        k = 0
        for j in range(d - 1, -1, -1):
            if k == h:
                break
            leaf_last[i, k] = paths_a[i, j]
            k += 1
        for j in range(h - k):
            leaf_last[i, k + j] = root_last[j]
        if d == 0:
            status[i] = SKIP
            continue
        if meta[M_PASSES] >= 2:
            status[i] = TERMINAL
            continue
        visits = N[paths_s[i, d - 1], paths_a[i, d - 1]] - vl + 1
        if visits >= expand_visits:
            status[i] = NET_EXPAND
        elif need_net:
            status[i] = NET_ONLY
        else:
            status[i] = ROLLOUT_ONLY
            continue
        legal_mask(st, meta, hist, nbr, zob, True, masks[i])
        keys[i] = position_key(meta, leaf_last[i])


@njit(cache=True)
def _scatter_planes(scratch, sym_map, out):
    """out[c, sym_map[p]] = scratch[c, p]; ``out`` starts zeroed, so only ones move."""
    for c in range(scratch.shape[0]):
        for p in range(scratch.shape[1]):
            v = scratch[c, p]
            if v:
                out[c, sym_map[p]] = v


@njit(cache=True, nogil=True)
def fill_planes_basic(sts, metas, lasts, syms, pm, nbr, diag, out):
    """out[i] = basic planes of leaf i seen under symmetry syms[i]. out [B, 16, n*n] uint8,
    zeroed by the caller."""
    scratch = np.zeros((out.shape[1], out.shape[2]), np.uint8)
    for i in range(sts.shape[0]):
        fill_basic(sts[i], metas[i], lasts[i], nbr, diag, scratch)
        _scatter_planes(scratch, pm[syms[i]], out[i])


@njit(cache=False, nogil=True)  # reaches the recursive ladder reader, which numba cannot cache
def fill_planes_alphago(sts, metas, lasts, syms, pm, nbr, diag, zob, out):
    """As fill_planes_basic for AlphaGo's 48 planes. out [B, 48, n*n] uint8."""
    scratch = np.zeros((out.shape[1], out.shape[2]), np.uint8)
    for i in range(sts.shape[0]):
        fill_alphago(sts[i], metas[i], lasts[i], nbr, diag, zob, scratch)
        _scatter_planes(scratch, pm[syms[i]], out[i])


@njit(cache=True, nogil=True)
def scatter(tree, leaves, priors, vnet, z, use_value, use_rollouts, lam, nbr, komi, vl):
    """Leaf values ``(1 - lam) v + lam z`` (or whichever exists), expansion of the
    NET_EXPAND leaves with their masked, renormalised priors, and backup.
    ``priors`` [B, A] are in the board's frame."""
    N, W, P, C, info = tree.N, tree.W, tree.P, tree.C, tree.info
    paths_s, paths_a, depths, status = leaves.paths_s, leaves.paths_a, leaves.depth, \
        leaves.status
    masks, leaf_st, leaf_meta = leaves.mask, leaves.st, leaves.meta
    a_count = N.shape[1]
    pr = np.zeros(a_count, np.float32)
    for i in range(paths_s.shape[0]):
        d = depths[i]
        s_ = status[i]
        if d == 0 or s_ == SKIP:
            continue
        if s_ == TERMINAL:
            v = outcome(leaf_st[i], leaf_meta[i, M_TOMOVE], nbr, komi)
        elif use_value and s_ != ROLLOUT_ONLY:
            v = (1.0 - lam) * vnet[i] + lam * z[i] if use_rollouts else vnet[i]
        elif use_rollouts:
            v = z[i]
        else:
            v = 0.0
        s, a = paths_s[i, d - 1], paths_a[i, d - 1]
        if s_ == NET_EXPAND and C[s, a] < 0:
            total = 0.0
            legal = 0
            for x in range(a_count):
                pr[x] = priors[i, x] * masks[i, x]
                total += pr[x]
                legal += masks[i, x]
            for x in range(a_count):
                pr[x] = pr[x] / total if total > 0 else masks[i, x] / max(1, legal)
            child = new_node(N, W, P, C, info, pr)
            if child >= 0:
                C[s, a] = child
        backup(N, W, paths_s[i], paths_a[i], d, v, vl)


@njit(cache=True, nogil=True)
def shift_virtual_loss(tree, leaves, vl):
    """Add ``vl`` virtual losses (negative: take them back) along every path of an
    in-flight batch, so that the tree can be read as if the batch were not there."""
    for i in range(leaves.depth.shape[0]):
        d = leaves.depth[i]
        for j in range(d):
            s, a = leaves.paths_s[i, j], leaves.paths_a[i, j]
            tree.N[s, a] += vl
            tree.W[s, a] -= vl
