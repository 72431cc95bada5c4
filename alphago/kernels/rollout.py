"""Fast rollout policy (numba): a linear softmax over cheap local features.

As in AlphaGo's p_pi, a move's score is a sum of weights of binary features:

- its 3x3 pattern: each of the 8 neighbours is empty, off board, or a stone of
  either colour with 1 or >= 2 liberties (6 states), hashed into PAT_BUCKETS;
- its offset from the previous move and from the move before (3x3 "response"
  neighbourhoods, 9 + 9 features);
- flags: captures, saves an own chain from atari, puts an opponent chain in
  atari, self-atari.

Only the empty points around the last two moves are scored (the response
region, at most 18); a "tenuki" weight stands for every other move, which is
then drawn uniformly among legal moves that do not fill an own true eye.
``weights`` is float32 [N_WEIGHTS]; ``default_weights`` is the hand-written set.
"""

import numpy as np
from numba import njit

from alphago.kernels.board import (EMPTY, F_COLOR, F_EMPTY, F_HEAD, F_LIBS, M_LAST, M_LAST2,
                                   M_NEMPTY, M_PASSES, M_SIZE, M_TOMOVE, NF, NM, OK, area_score,
                                   commit, is_true_eye, legal_basic, outcome, random_playout)
from alphago.kernels.features import load_position

PAT_BUCKETS = 1 << 16
OFF_REL1 = PAT_BUCKETS
OFF_REL2 = OFF_REL1 + 9
OFF_FLAGS = OFF_REL2 + 9
F_CAPTURE, F_SAVE, F_ATARI, F_SELF_ATARI = 0, 1, 2, 3
OFF_TENUKI = OFF_FLAGS + 4
N_WEIGHTS = OFF_TENUKI + 1
MAX_CANDS = 18


@njit(cache=True, inline="always")
def _pattern_hash(st, nbr, diag, p, me):
    code = np.uint32(0)
    for k in range(8):
        q = nbr[p, k] if k < 4 else diag[p, k - 4]
        if q < 0:
            s = 1
        else:
            c = st[F_COLOR, q]
            if c == EMPTY:
                s = 0
            else:
                one = st[F_LIBS, st[F_HEAD, q]] == 1
                s = (2 if c == me else 4) + (1 if one else 0)
        code = code * np.uint32(6) + np.uint32(s)
    code ^= code >> np.uint32(13)
    code *= np.uint32(0x5BD1E995)
    code ^= code >> np.uint32(15)
    return int(code & np.uint32(PAT_BUCKETS - 1))


@njit(cache=True, inline="always")
def _flags(st, nbr, p, me, out):
    """Capture / save-atari / atari / self-atari flags of ``me`` playing p (into out[4])."""
    out[:] = 0
    opp = 3 - me
    empties = 0
    own_libs_other = 0  # liberties own neighbours keep beyond p (2+ counts as safe)
    own_in_atari = False
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            continue
        c = st[F_COLOR, q]
        if c == EMPTY:
            empties += 1
            continue
        libs = st[F_LIBS, st[F_HEAD, q]]
        if c == opp:
            if libs == 1:
                out[F_CAPTURE] = 1
            elif libs == 2:
                out[F_ATARI] = 1
        else:
            if libs == 1:
                own_in_atari = True
            else:
                own_libs_other += libs - 1
    if own_in_atari and (out[F_CAPTURE] or empties + own_libs_other >= 2):
        out[F_SAVE] = 1
    if not out[F_CAPTURE] and empties + own_libs_other <= 1:
        out[F_SELF_ATARI] = 1


@njit(cache=True, inline="always")
def candidates(st, meta, nbr, diag, me, cands, rel1, rel2):
    """Empty legal points around the last two moves (no own true eyes); returns count."""
    n = meta[M_SIZE]
    nn = n * n
    count = 0
    for which in range(2):
        last = meta[M_LAST] if which == 0 else meta[M_LAST2]
        if last < 0 or last >= nn:
            continue
        lr, lc = last // n, last % n
        for dr in range(-1, 2):
            for dc in range(-1, 2):
                r, c = lr + dr, lc + dc
                if r < 0 or r >= n or c < 0 or c >= n:
                    continue
                p = r * n + c
                if st[F_COLOR, p] != EMPTY:
                    continue
                seen = -1
                for i in range(count):
                    if cands[i] == p:
                        seen = i
                if seen >= 0:
                    if which == 0:
                        rel1[seen] = (dr + 1) * 3 + dc + 1
                    else:
                        rel2[seen] = (dr + 1) * 3 + dc + 1
                    continue
                if legal_basic(st, meta, nbr, p, me) != OK or is_true_eye(st, nbr, diag, p, me):
                    continue
                cands[count] = p
                rel1[count] = (dr + 1) * 3 + dc + 1 if which == 0 else -1
                rel2[count] = (dr + 1) * 3 + dc + 1 if which == 1 else -1
                count += 1
    return count


@njit(cache=True, inline="always")
def score(st, nbr, diag, p, me, r1, r2, weights, flags):
    s = weights[_pattern_hash(st, nbr, diag, p, me)]
    if r1 >= 0:
        s += weights[OFF_REL1 + r1]
    if r2 >= 0:
        s += weights[OFF_REL2 + r2]
    _flags(st, nbr, p, me, flags)
    for k in range(4):
        if flags[k]:
            s += weights[OFF_FLAGS + k]
    return s


@njit(cache=True, inline="always")
def policy_move(st, meta, nbr, diag, weights, cands, rel1, rel2, scores, flags):
    """Draw a move from the rollout policy (pass when nothing sensible is left)."""
    me = meta[M_TOMOVE]
    count = candidates(st, meta, nbr, diag, me, cands, rel1, rel2)
    best = weights[OFF_TENUKI]
    for i in range(count):
        scores[i] = score(st, nbr, diag, cands[i], me, rel1[i], rel2[i], weights, flags)
        if scores[i] > best:
            best = scores[i]
    total = np.exp(weights[OFF_TENUKI] - best)
    for i in range(count):
        scores[i] = np.exp(scores[i] - best)
        total += scores[i]
    x = np.random.random() * total
    for i in range(count):
        x -= scores[i]
        if x < 0:
            return cands[i]
    return _tenuki(st, meta, nbr, diag, me, flags)


@njit(cache=True, inline="always")
def _tenuki(st, meta, nbr, diag, me, flags):
    """A uniformly drawn sensible move that is not a self-atari (unless nothing else is)."""
    n = meta[M_SIZE]
    ne = meta[M_NEMPTY]
    if ne == 0:
        return n * n
    start = np.random.randint(0, ne)
    fallback = -1
    for k in range(ne):
        i = start + k
        if i >= ne:
            i -= ne
        q = st[F_EMPTY, i]
        if is_true_eye(st, nbr, diag, q, me) or legal_basic(st, meta, nbr, q, me) != OK:
            continue
        _flags(st, nbr, q, me, flags)
        if flags[F_SELF_ATARI] and not flags[F_CAPTURE]:
            if fallback < 0:
                fallback = q
            continue
        return q
    return fallback if fallback >= 0 else n * n


@njit(cache=True)
def policy_playout(st, meta, hist, nbr, diag, zob, weights, max_moves):
    """Play the rollout policy until two passes or max_moves; returns moves played."""
    cands = np.empty(MAX_CANDS, np.int32)
    rel1 = np.empty(MAX_CANDS, np.int32)
    rel2 = np.empty(MAX_CANDS, np.int32)
    scores = np.empty(MAX_CANDS, np.float64)
    flags = np.zeros(4, np.int32)
    played = 0
    while meta[M_PASSES] < 2 and played < max_moves:
        p = policy_move(st, meta, nbr, diag, weights, cands, rel1, rel2, scores, flags)
        commit(st, meta, hist, nbr, zob, p)
        played += 1
    return played


@njit(cache=True)
def playout_batch(st0, meta0, nbr, diag, zob, weights, count, max_moves, komi):
    """``count`` playouts from one position with the rollout policy ``weights`` (uniform
    random moves when it is empty): (black wins, total moves)."""
    st = st0.copy()
    meta = meta0.copy()
    hist = np.empty(0, np.int64)
    wins = 0
    moves = 0
    for _ in range(count):
        st[:, :] = st0
        meta[:] = meta0
        if weights.shape[0] > 0:
            moves += policy_playout(st, meta, hist, nbr, diag, zob, weights, max_moves)
        else:
            moves += random_playout(st, meta, hist, nbr, diag, zob, max_moves)
        if area_score(st, nbr, komi) > 0:
            wins += 1
    return wins, moves


def default_weights() -> np.ndarray:
    """Hand-written policy: answer locally, capture, save, atari; avoid self-atari."""
    w = np.zeros(N_WEIGHTS, np.float32)
    w[OFF_FLAGS + F_CAPTURE] = 3.0
    w[OFF_FLAGS + F_SAVE] = 2.5
    w[OFF_FLAGS + F_ATARI] = 1.0
    w[OFF_FLAGS + F_SELF_ATARI] = -3.0
    w[OFF_TENUKI] = 1.5
    return w


@njit(cache=True)
def sgd_epoch(colors, to_move, ko, last, moves, nbr, diag, zob, weights, lr, l2, order,
              train):
    """One pass of softmax regression over stored positions (in ``order``); returns
    (log-likelihood sum, top-1 hits, positions). ``train`` False only measures."""
    nn = colors.shape[1]
    st = np.zeros((NF, nn), np.int32)
    meta = np.zeros(NM, np.int64)
    cands = np.empty(MAX_CANDS, np.int32)
    rel1 = np.empty(MAX_CANDS, np.int32)
    rel2 = np.empty(MAX_CANDS, np.int32)
    scores = np.empty(MAX_CANDS + 1, np.float64)
    probs = np.empty(MAX_CANDS + 1, np.float64)
    flags = np.zeros(4, np.int32)
    cand_flags = np.zeros((MAX_CANDS, 4), np.int32)
    pats = np.empty(MAX_CANDS, np.int64)
    ll = 0.0
    hits = 0
    count = 0
    from_kernel = np.zeros(nn, np.int8)
    for j in range(order.shape[0]):
        i = order[j]
        target = moves[i]
        if target < 0 or target >= nn:
            continue
        from_kernel[:] = colors[i]
        _load(from_kernel, to_move[i], ko[i], last[i], st, meta, nbr, zob)
        me = meta[M_TOMOVE]
        c = candidates(st, meta, nbr, diag, me, cands, rel1, rel2)
        nlegal = 0
        for p in range(nn):
            if st[F_COLOR, p] == EMPTY:
                nlegal += 1
        best = weights[OFF_TENUKI]
        for k in range(c):
            pats[k] = _pattern_hash(st, nbr, diag, cands[k], me)
            scores[k] = score(st, nbr, diag, cands[k], me, rel1[k], rel2[k], weights, flags)
            cand_flags[k, :] = flags
            best = max(best, scores[k])
        scores[c] = weights[OFF_TENUKI]
        total = 0.0
        for k in range(c + 1):
            probs[k] = np.exp(scores[k] - best)
            total += probs[k]
        t = c  # index of the target among candidates, c = tenuki
        for k in range(c):
            if cands[k] == target:
                t = k
        arg = -1  # the most probable concrete move: tenuki mass is spread over the board
        for k in range(c + 1):
            probs[k] /= total
            if k < c and (arg < 0 or probs[k] > probs[arg]):
                arg = k
        p_t = probs[t] if t < c else probs[c] / max(1, nlegal - c)
        ll += np.log(max(p_t, 1e-12))
        if t < c and arg == t:
            hits += 1
        count += 1
        if not train:
            continue
        for k in range(c + 1):
            g = (1.0 if k == t else 0.0) - probs[k]
            if k == c:
                weights[OFF_TENUKI] += lr * g
                continue
            weights[pats[k]] += lr * (g - l2 * weights[pats[k]])
            if rel1[k] >= 0:
                weights[OFF_REL1 + rel1[k]] += lr * g
            if rel2[k] >= 0:
                weights[OFF_REL2 + rel2[k]] += lr * g
            for f in range(4):
                if cand_flags[k, f]:
                    weights[OFF_FLAGS + f] += lr * g
    return ll, hits, count


@njit(cache=True)
def _load(colors, to_move, ko, last, st, meta, nbr, zob):
    load_position(colors, to_move, ko, st, meta, nbr, zob)
    nn = colors.shape[0]
    meta[M_LAST] = last[0] if last[0] < nn else -1
    meta[M_LAST2] = last[1] if last[1] < nn else -1


@njit(cache=True, nogil=True)
def rollouts(sts, metas, nbr, diag, zob, komi, max_moves, seeds, weights):
    """One playout per leaf: the rollout policy with ``weights``, or uniform random moves
    (true eyes kept) when ``weights`` is empty. Returns +1/-1 (0 for a draw) per leaf: did
    the leaf's side to move win on area? Releases the GIL: the search's threads play
    their batches' rollouts side by side."""
    b = sts.shape[0]
    out = np.zeros(b, np.float32)
    hist = np.empty(0, np.int64)
    for i in range(b):
        np.random.seed(seeds[i])
        st = sts[i].copy()
        meta = metas[i].copy()
        mover = meta[M_TOMOVE]
        if weights.shape[0] > 0:
            policy_playout(st, meta, hist, nbr, diag, zob, weights, max_moves)
        else:
            random_playout(st, meta, hist, nbr, diag, zob, max_moves)
        out[i] = outcome(st, mover, nbr, komi)
    return out
