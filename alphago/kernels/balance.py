"""Simulation balancing of the rollout policy (numba): policy-gradient training of its
weights so that the search's leaf value predicts the game's result.

The search values a leaf as m = (1 - lam) v + lam z, with v the value network's estimate
and z one rollout's result (both the mover's view). Balancing minimises E[(y - m)^2] over
positions with a known result y, through the rollout policy's weights theta: since
r(s) = E[z] is what theta changes, the gradient is -2 lam (y - (1 - lam) v - lam r(s))
grad r(s), and grad r(s) = E[z psi] with psi the sum over the rollout's moves (both
colours) of grad log pi(a_t | s_t) (Silver and Tesauro 2009, "Monte-Carlo simulation
balancing"; Huang, Coulom and Lin 2010). Each position is rolled out ``n`` times; for
rollout j the error and the baseline use the other n - 1 rollouts' mean, so that each
term is an unbiased estimate.
"""

import numpy as np
from numba import njit

from alphago.kernels.board import M_PASSES, M_TOMOVE, NF, NM, commit, outcome
from alphago.kernels.rollout import (MAX_CANDS, OFF_FLAGS, OFF_REL1, OFF_REL2, OFF_TENUKI,
                                     _load, _policy_loop, _tenuki, candidates, draw,
                                     scratch)

ENTRIES_PER_CAND = 7  # pattern, two offsets, four flags


@njit(cache=True, inline="always")
def _push(idx, val, used, i, v):
    idx[used] = i
    val[used] = v
    return used + 1


@njit(cache=True, inline="always")
def _push_features(idx, val, used, pat, r1, r2, flag_bits, v):
    """Add v times the feature vector of one candidate to the sparse entries."""
    used = _push(idx, val, used, pat, v)
    if r1 >= 0:
        used = _push(idx, val, used, OFF_REL1 + r1, v)
    if r2 >= 0:
        used = _push(idx, val, used, OFF_REL2 + r2, v)
    for k in range(4):
        if flag_bits & (1 << k):
            used = _push(idx, val, used, OFF_FLAGS + k, v)
    return used


@njit(cache=True)
def logged_move(st, meta, nbr, diag, weights, bufs, idx, val, used):
    """Draw a move as ``rollout.policy_move`` does (``rollout.draw``) and append grad log pi
    of the draw (its features minus the policy's expected features) to the sparse entries
    ``idx``/``val`` from ``used`` on. Returns (move, entries used)."""
    cands, rel1, rel2, pats, bits, scores = bufs
    me = meta[M_TOMOVE]
    count = candidates(st, meta, nbr, diag, me, cands, rel1, rel2, pats, bits)
    if count == 0:  # the tenuki is certain: nothing to learn from this move
        return _tenuki(st, meta, nbr, diag, me), used
    chosen, total = draw(weights, count, rel1, rel2, pats, bits, scores)
    for i in range(count):
        g = (1.0 if i == chosen else 0.0) - scores[i] / total
        used = _push_features(idx, val, used, pats[i], rel1[i], rel2[i], bits[i], g)
    used = _push(idx, val, used, OFF_TENUKI, (1.0 if chosen == count else 0.0) - 1.0 / total)
    if chosen < count:
        return cands[chosen], used
    return _tenuki(st, meta, nbr, diag, me), used


@njit(cache=True)
def logged_rollout(st, meta, nbr, diag, zob, weights, max_moves, bufs, idx, val, used):
    """Play the rollout policy to the end (two passes or ``max_moves``), logging every
    move's score function; returns the entries used."""
    hist = np.empty(0, np.int64)
    played = 0
    while meta[M_PASSES] < 2 and played < max_moves:
        p, used = logged_move(st, meta, nbr, diag, weights, bufs, idx, val, used)
        commit(st, meta, hist, nbr, zob, p)
        played += 1
    return used


@njit(cache=True, inline="always")
def _mean_error_sq(e):
    """An unbiased estimate of (E e)^2 from independent draws e_1..e_n: the mean of the
    products e_j e_k over pairs j != k (the square of the mean would add var(e) / n)."""
    n = e.shape[0]
    s = e.sum()
    return (s * s - (e * e).sum()) / (n * (n - 1))


@njit(cache=True)
def balance_epoch(colors, to_move, ko, last, result, net_value, order, nbr, diag, zob,
                  weights, anchor, lr, l2, lam, n_rollouts, max_moves, komi, seed, train):
    """One pass of simulation balancing over stored positions (in ``order``).

    ``result`` is the game's result and ``net_value`` the value network's estimate, both
    the mover's view; positions with result 0 (unknown) are skipped. With ``train`` the
    weights move by ``lr`` times the gradient estimate, and by ``lr * l2`` toward
    ``anchor`` (the weights balancing started from). Returns sums over positions of the
    squared errors of the leaf value's expectation over rollouts (what a subtree's mean
    converges to), of the rollouts' expected result alone, and of the value alone, and
    the positions used (``n_rollouts`` >= 2)."""
    np.random.seed(seed)
    nn = colors.shape[1]
    st0 = np.zeros((NF, nn), np.int32)
    meta0 = np.zeros(NM, np.int64)
    st = st0.copy()
    meta = meta0.copy()
    bufs = scratch()
    cap = max_moves * (MAX_CANDS * ENTRIES_PER_CAND + 1) + 1
    idx = np.empty(n_rollouts * cap, np.int64)
    val = np.empty(n_rollouts * cap, np.float64)
    starts = np.empty(n_rollouts + 1, np.int64)
    z = np.empty(n_rollouts, np.float64)
    colour = np.zeros(nn, np.int8)
    mix_se = 0.0
    roll_se = 0.0
    value_se = 0.0
    count = 0
    for j in range(order.shape[0]):
        i = order[j]
        y = float(result[i])
        if y == 0.0:
            continue
        colour[:] = colors[i]
        _load(colour, to_move[i], ko[i], last[i], st0, meta0, nbr, zob)
        mover = meta0[M_TOMOVE]
        a = (1.0 - lam) * net_value[i]
        used = 0
        for k in range(n_rollouts):
            st[:, :] = st0
            meta[:] = meta0
            starts[k] = used
            if train:
                used = logged_rollout(st, meta, nbr, diag, zob, weights, max_moves, bufs,
                                      idx, val, used)
            else:
                _policy_loop(st, meta, np.empty(0, np.int64), nbr, diag, zob, weights,
                             max_moves, bufs)
            z[k] = outcome(st, mover, nbr, komi)
        starts[n_rollouts] = used
        total = z.sum()
        mix_se += _mean_error_sq(y - a - lam * z)
        roll_se += _mean_error_sq(y - z)
        value_se += (y - net_value[i]) ** 2
        count += 1
        if not train:
            continue
        for k in range(n_rollouts):
            others = (total - z[k]) / (n_rollouts - 1)
            err = y - a - lam * others
            c = lr * lam * err * (z[k] - others) / n_rollouts
            if c == 0.0:
                continue
            for e in range(starts[k], starts[k + 1]):
                weights[idx[e]] += c * val[e]
        if l2 > 0.0:
            weights -= (lr * l2) * (weights - anchor)
    return mix_se, roll_se, value_se, count

