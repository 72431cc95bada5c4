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

from alphago.kernels.board import (EMPTY, F_COLOR, F_EMPTY, F_HEAD, F_LIBS, M_KO, M_LAST,
                                   M_LAST2, M_NEMPTY, M_PASSES, M_SIZE, M_TOMOVE, NF, NM,
                                   area_score, commit, outcome, random_playout)
from alphago.kernels.borrow import borrowed
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
def _neighbour_state(st, q, me):
    """A pattern digit: 0 empty, 1 off board, 2/3 own stone with >= 2 / 1 liberties,
    4/5 the opponent's."""
    if q < 0:
        return 1
    c = st[F_COLOR, q]
    if c == EMPTY:
        return 0
    one = 1 if st[F_LIBS, st[F_HEAD, q]] == 1 else 0
    return (2 if c == me else 4) + one


@njit(cache=True, inline="always")
def examine(st, meta, nbr, diag, p, me, pattern=True):
    """All the rollout policy asks of the empty point p for ``me``, in one pass over its
    8 neighbours: (sensible, pattern bucket, flag bits). Sensible: legal (not the ko
    point, not suicide) and not ``me``'s true eye (board.legal_basic and is_true_eye).
    Flag bit F_x is set for capture, save (an own chain in atari gets out), atari (an
    opponent chain left with one liberty) and self-atari. With ``pattern`` False the
    bucket is 0 and the diagonals are read only to tell a true eye."""
    code = np.uint32(0)
    empties = 0
    own_libs_other = 0  # liberties own neighbours keep beyond p (2+ counts as safe)
    own_in_atari = False
    capture = False
    atari = False
    legal = False
    all_own = True
    for k in range(4):
        q = nbr[p, k]
        s = _neighbour_state(st, q, me)
        if s == 0:
            empties += 1
            legal = True
            all_own = False
        elif s >= 2:
            libs = st[F_LIBS, st[F_HEAD, q]]
            if s < 4:
                if libs == 1:
                    own_in_atari = True
                else:
                    own_libs_other += libs - 1
                    legal = True
            else:
                all_own = False
                if libs == 1:
                    capture = True
                    legal = True
                elif libs == 2:
                    atari = True
        code = code * np.uint32(6) + np.uint32(s)
    bad = 0
    edge = 0
    bucket = 0
    if pattern or all_own:
        for k in range(4):
            q = diag[p, k]
            s = _neighbour_state(st, q, me)
            if s == 1:
                edge = 1
            elif s >= 4:
                bad += 1
            code = code * np.uint32(6) + np.uint32(s)
        code ^= code >> np.uint32(13)
        code *= np.uint32(0x5BD1E995)
        code ^= code >> np.uint32(15)
        bucket = int(code & np.uint32(PAT_BUCKETS - 1))
    bits = 0
    if capture:
        bits |= 1 << F_CAPTURE
    elif empties + own_libs_other <= 1:
        bits |= 1 << F_SELF_ATARI
    if own_in_atari and (capture or empties + own_libs_other >= 2):
        bits |= 1 << F_SAVE
    if atari:
        bits |= 1 << F_ATARI
    if p == meta[M_KO] and me == meta[M_TOMOVE]:
        legal = False
    eye = all_own and bad + edge < 2
    return legal and not eye, bucket, bits


@njit(cache=True, inline="always")
def candidates(st, meta, nbr, diag, me, cands, rel1, rel2, pats, bits):
    """The sensible empty points around the last two moves (see ``examine``), with their
    offsets from those moves (0..8, -1 when not next to one), pattern buckets and flag
    bits; returns how many. [MAX_CANDS] arrays, filled from the front."""
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
                rel = (dr + 1) * 3 + dc + 1
                seen = -1
                if which == 1:  # the first neighbourhood may have it already
                    for i in range(count):
                        if cands[i] == p:
                            seen = i
                if seen >= 0:
                    rel2[seen] = rel
                    continue
                ok, pattern, flag_bits = examine(st, meta, nbr, diag, p, me)
                if not ok:
                    continue
                cands[count] = p
                rel1[count] = rel if which == 0 else -1
                rel2[count] = rel if which == 1 else -1
                pats[count] = pattern
                bits[count] = flag_bits
                count += 1
    return count


@njit(cache=True, inline="always")
def score(weights, pattern, r1, r2, flag_bits):
    """The rollout policy's logit of one candidate."""
    s = weights[pattern]
    if r1 >= 0:
        s += weights[OFF_REL1 + r1]
    if r2 >= 0:
        s += weights[OFF_REL2 + r2]
    for k in range(4):
        if flag_bits & (1 << k):
            s += weights[OFF_FLAGS + k]
    return s


@njit(cache=True)
def scratch():
    """The candidate buffers a playout reuses move after move: points, offsets from the
    last and the second last move, pattern buckets, flag bits, scores [MAX_CANDS] each."""
    return (np.empty(MAX_CANDS, np.int32), np.empty(MAX_CANDS, np.int32),
            np.empty(MAX_CANDS, np.int32), np.empty(MAX_CANDS, np.int32),
            np.empty(MAX_CANDS, np.int32), np.empty(MAX_CANDS + 1, np.float64))


@njit(cache=True, inline="always")
def draw(weights, count, rel1, rel2, pats, bits, scores):
    """Draw among ``count`` scored candidates and the tenuki: (the index drawn, ``count``
    for the tenuki; the softmax's normaliser), ``scores`` left holding each candidate's
    exp(logit - tenuki's logit)."""
    base = weights[OFF_TENUKI]  # logits relative to the tenuki's: exp(tenuki) = 1
    total = 1.0
    for i in range(count):  # (capped far beyond trained weights, so a sum cannot overflow)
        scores[i] = np.exp(min(score(weights, pats[i], rel1[i], rel2[i], bits[i]) - base,
                               80.0))
        total += scores[i]
    x = np.random.random() * total
    for i in range(count):
        x -= scores[i]
        if x < 0:
            return i, total
    return count, total


@njit(cache=True, inline="always")
def policy_move(st, meta, nbr, diag, weights, cands, rel1, rel2, pats, bits, scores):
    """Draw a move from the rollout policy (pass when nothing sensible is left)."""
    me = meta[M_TOMOVE]
    count = candidates(st, meta, nbr, diag, me, cands, rel1, rel2, pats, bits)
    chosen, _ = draw(weights, count, rel1, rel2, pats, bits, scores)
    if chosen < count:
        return cands[chosen]
    return _tenuki(st, meta, nbr, diag, me)


@njit(cache=True, inline="always")
def _tenuki(st, meta, nbr, diag, me):
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
        ok, _, flag_bits = examine(st, meta, nbr, diag, q, me, False)
        if not ok:
            continue
        if flag_bits & (1 << F_SELF_ATARI):
            if fallback < 0:
                fallback = q
            continue
        return q
    return fallback if fallback >= 0 else n * n


@njit(cache=True)
def policy_playout(st, meta, hist, nbr, diag, zob, weights, max_moves):
    """Play the rollout policy until two passes or max_moves; returns moves played."""
    return _policy_loop(st, meta, hist, nbr, diag, zob, weights, max_moves, scratch())


@njit(cache=True)
def _policy_loop(st, meta, hist, nbr, diag, zob, weights, max_moves, buffers):
    """policy_playout's moves, on borrowed views of its arrays and ``buffers``."""
    st, meta, hist, nbr = borrowed(st), borrowed(meta), borrowed(hist), borrowed(nbr)
    diag, zob, weights = borrowed(diag), borrowed(zob), borrowed(weights)
    cands, rel1, rel2 = borrowed(buffers[0]), borrowed(buffers[1]), borrowed(buffers[2])
    pats, bits, scores = borrowed(buffers[3]), borrowed(buffers[4]), borrowed(buffers[5])
    played = 0
    while meta[M_PASSES] < 2 and played < max_moves:
        p = policy_move(st, meta, nbr, diag, weights, cands, rel1, rel2, pats, bits, scores)
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
    cands, rel1, rel2, pats, bits, scores = scratch()
    probs = np.empty(MAX_CANDS + 1, np.float64)
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
        c = candidates(st, meta, nbr, diag, me, cands, rel1, rel2, pats, bits)
        nlegal = 0
        for p in range(nn):
            if st[F_COLOR, p] == EMPTY:
                nlegal += 1
        best = weights[OFF_TENUKI]
        for k in range(c):
            scores[k] = score(weights, pats[k], rel1[k], rel2[k], bits[k])
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
                if bits[k] & (1 << f):
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
