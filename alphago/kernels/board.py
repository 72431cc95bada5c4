"""Go rules core over flat arrays (numba).

State of one position, all owned by the caller:

- ``st``   int32 [NF, n*n]: per-point rows (see F_*). Chain data is indexed by
  the chain's head point: every stone stores its head, a ring of ``next``
  pointers runs through the chain, and ``libs``/``size`` hold the number of
  distinct liberties and of stones at the head's index.
- ``meta`` int64 [NM]: scalars (see M_*). The board hash covers stones only
  (positional superko); the side to move is folded in by the caller when needed.
- ``hist`` int64 [H]: board hashes of every position reached, for superko.
- ``nbr``/``diag`` int32 [n*n, 4]: neighbour and diagonal points, -1 off board.
- ``zob``  int64 [3, n*n]: zobrist keys per colour and point (row 0 unused).

Points are ``row * n + col``; pass is ``n * n``.
"""

import numpy as np
from numba import njit

from alphago.kernels.borrow import borrowed

EMPTY, BLACK, WHITE = 0, 1, 2

F_COLOR, F_HEAD, F_NEXT, F_LIBS, F_SIZE, F_MARK, F_EMPTY, F_EIDX, F_AGE = range(9)
NF = 9

(M_SIZE, M_TOMOVE, M_KO, M_HASH, M_PASSES, M_CAPS_B, M_CAPS_W, M_MOVES,
 M_STAMP, M_NEMPTY, M_LAST, M_LAST2, M_NHIST) = range(13)
NM = 13

# Results of a move attempt.
OK, OCCUPIED, SUICIDE, KO, SUPERKO, OFFBOARD = range(6)


@njit(cache=True)
def make_geometry(n):
    """Neighbour and diagonal tables for an n x n board. [n*n, 4] int32 each."""
    nn = n * n
    nbr = np.full((nn, 4), -1, np.int32)
    diag = np.full((nn, 4), -1, np.int32)
    for p in range(nn):
        r, c = p // n, p % n
        k = 0
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n:
                nbr[p, k] = rr * n + cc
            k += 1
        k = 0
        for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n:
                diag[p, k] = rr * n + cc
            k += 1
    return nbr, diag


@njit(cache=True)
def clear(st, meta, n):
    nn = n * n
    for p in range(nn):
        st[F_COLOR, p] = EMPTY
        st[F_HEAD, p] = -1
        st[F_NEXT, p] = -1
        st[F_LIBS, p] = 0
        st[F_SIZE, p] = 0
        st[F_MARK, p] = 0
        st[F_EMPTY, p] = p
        st[F_EIDX, p] = p
        st[F_AGE, p] = -1
    meta[:] = 0
    meta[M_SIZE] = n
    meta[M_TOMOVE] = BLACK
    meta[M_KO] = -1
    meta[M_NEMPTY] = nn
    meta[M_LAST] = -1
    meta[M_LAST2] = -1


@njit(cache=True)
def _next_stamp(st, meta):
    s = meta[M_STAMP] + 1
    if s >= 2147483647:
        st[F_MARK, :] = 0
        s = 1
    meta[M_STAMP] = s
    return np.int32(s)


@njit(cache=True, inline="always")
def _empty_remove(st, meta, p):
    i = st[F_EIDX, p]
    last = meta[M_NEMPTY] - 1
    q = st[F_EMPTY, last]
    st[F_EMPTY, i] = q
    st[F_EIDX, q] = i
    st[F_EMPTY, last] = p
    st[F_EIDX, p] = last
    meta[M_NEMPTY] = last


@njit(cache=True, inline="always")
def _empty_add(st, meta, p):
    i = meta[M_NEMPTY]
    st[F_EMPTY, i] = p
    st[F_EIDX, p] = i
    meta[M_NEMPTY] = i + 1


@njit(cache=True)
def count_chain_libs(st, meta, nbr, h):
    """Distinct liberties of the chain with head h, counted from scratch."""
    stamp = _next_stamp(st, meta)
    libs = 0
    q = h
    while True:
        for k in range(4):
            r = nbr[q, k]
            if r >= 0 and st[F_COLOR, r] == EMPTY and st[F_MARK, r] != stamp:
                st[F_MARK, r] = stamp
                libs += 1
        q = st[F_NEXT, q]
        if q == h:
            break
    return libs


@njit(cache=True)
def capture_hash(st, nbr, zob, p, color):
    """XOR of the keys of opponent stones that a move at p would capture, and their count."""
    opp = 3 - color
    x = np.int64(0)
    count = 0
    seen0, seen1, seen2 = -1, -1, -1
    for k in range(4):
        r = nbr[p, k]
        if r < 0 or st[F_COLOR, r] != opp:
            continue
        h = st[F_HEAD, r]
        if h == seen0 or h == seen1 or h == seen2 or st[F_LIBS, h] != 1:
            continue
        if seen0 < 0:
            seen0 = h
        elif seen1 < 0:
            seen1 = h
        else:
            seen2 = h
        q = h
        while True:
            x ^= zob[opp, q]
            count += 1
            q = st[F_NEXT, q]
            if q == h:
                break
    return x, count


@njit(cache=True, inline="always")
def legal_basic(st, meta, nbr, p, color):
    """Occupied / ko / suicide test for ``color`` at point p (no superko)."""
    if st[F_COLOR, p] != EMPTY:
        return OCCUPIED
    if p == meta[M_KO] and color == meta[M_TOMOVE]:
        return KO
    opp = 3 - color
    for k in range(4):
        r = nbr[p, k]
        if r < 0:
            continue
        c = st[F_COLOR, r]
        if c == EMPTY:
            return OK
        libs = st[F_LIBS, st[F_HEAD, r]]
        if c == color and libs > 1:
            return OK
        if c == opp and libs == 1:
            return OK
    return SUICIDE


@njit(cache=True)
def in_history(hist, nhist, h):
    for i in range(nhist):
        if hist[i] == h:
            return True
    return False


@njit(cache=True)
def legal(st, meta, hist, nbr, zob, p, color, superko):
    """Full legality of ``color`` playing p; pass is always legal."""
    n = meta[M_SIZE]
    if p == n * n:
        return OK
    if p < 0 or p > n * n:
        return OFFBOARD
    code = legal_basic(st, meta, nbr, p, color)
    if code != OK or not superko:
        return code
    x, _ = capture_hash(st, nbr, zob, p, color)
    newhash = meta[M_HASH] ^ zob[color, p] ^ x
    if in_history(hist, meta[M_NHIST], newhash):
        return SUPERKO
    return OK


@njit(cache=True)
def _remove_chain(st, meta, nbr, zob, h):
    """Lift a dead chain off the board; its points become liberties of its neighbours."""
    color = st[F_COLOR, h]
    removed = 0
    q = h
    while True:
        st[F_COLOR, q] = EMPTY
        st[F_AGE, q] = -1
        meta[M_HASH] ^= zob[color, q]
        _empty_add(st, meta, q)
        removed += 1
        q = st[F_NEXT, q]
        if q == h:
            break
    q = h
    while True:
        s0, s1, s2 = -1, -1, -1
        for k in range(4):
            r = nbr[q, k]
            if r < 0 or st[F_COLOR, r] == EMPTY:
                continue
            hh = st[F_HEAD, r]
            if hh == s0 or hh == s1 or hh == s2:
                continue
            if s0 < 0:
                s0 = hh
            elif s1 < 0:
                s1 = hh
            else:
                s2 = hh
            st[F_LIBS, hh] += 1
        nxt = st[F_NEXT, q]
        st[F_HEAD, q] = -1
        st[F_NEXT, q] = -1
        q = nxt
        if q == h:
            break
    return removed


@njit(cache=True)
def _merge(st, nbr, big, small):
    """Relabel chain ``small`` into ``big``, splice the rings and add the liberties
    of ``small`` that ``big`` does not already have (leela-zero's merge)."""
    q = small
    while True:
        for k in range(4):
            a = nbr[q, k]
            if a < 0 or st[F_COLOR, a] != EMPTY:
                continue
            shared = False
            for kk in range(4):
                b = nbr[a, kk]
                if b >= 0 and st[F_HEAD, b] == big:
                    shared = True
                    break
            if not shared:
                st[F_LIBS, big] += 1
        st[F_HEAD, q] = big
        q = st[F_NEXT, q]
        if q == small:
            break
    nb, ns = st[F_NEXT, big], st[F_NEXT, small]
    st[F_NEXT, big] = ns
    st[F_NEXT, small] = nb
    st[F_SIZE, big] += st[F_SIZE, small]


@njit(cache=True, inline="always")
def _place(st, meta, nbr, zob, p, color):
    """Put a stone, resolve captures and merges. Returns stones captured and the last one."""
    st[F_COLOR, p] = color
    st[F_AGE, p] = meta[M_MOVES]
    st[F_HEAD, p] = p
    st[F_NEXT, p] = p
    st[F_SIZE, p] = 1
    meta[M_HASH] ^= zob[color, p]
    _empty_remove(st, meta, p)
    captured = 0
    cap_point = -1
    own = 0
    s0, s1, s2 = -1, -1, -1
    for k in range(4):
        r = nbr[p, k]
        if r < 0:
            continue
        c = st[F_COLOR, r]
        if c == EMPTY:
            continue
        h = st[F_HEAD, r]
        if h == s0 or h == s1 or h == s2:
            continue
        if s0 < 0:
            s0 = h
        elif s1 < 0:
            s1 = h
        else:
            s2 = h
        st[F_LIBS, h] -= 1
        if c == color:
            own += 1
        elif st[F_LIBS, h] == 0:
            cap_point = h
            captured += _remove_chain(st, meta, nbr, zob, h)
    libs = 0
    for k in range(4):
        r = nbr[p, k]
        if r >= 0 and st[F_COLOR, r] == EMPTY:
            libs += 1
    st[F_LIBS, p] = libs
    if own > 0:
        h = p
        for k in range(4):
            r = nbr[p, k]
            if r < 0 or st[F_COLOR, r] != color:
                continue
            hr = st[F_HEAD, r]
            if hr == h:
                continue
            if st[F_SIZE, hr] >= st[F_SIZE, h]:
                _merge(st, nbr, hr, h)
                h = hr
            else:
                _merge(st, nbr, h, hr)
    if color == BLACK:
        meta[M_CAPS_B] += captured
    else:
        meta[M_CAPS_W] += captured
    return captured, cap_point


@njit(cache=True)
def play(st, meta, hist, nbr, zob, p, superko):
    """Play p for the side to move. Returns OK or the reason the move is illegal.

    The board is unchanged when the move is illegal. Positions are appended to
    ``hist`` while it has room (the caller keeps room when superko matters).
    """
    n = meta[M_SIZE]
    if p != n * n:
        code = legal(st, meta, hist, nbr, zob, p, meta[M_TOMOVE], superko)
        if code != OK:
            return code
    commit(st, meta, hist, nbr, zob, p)
    return OK


@njit(cache=True)
def commit(st, meta, hist, nbr, zob, p):
    """Play p (or pass) for the side to move, legality already checked."""
    n = meta[M_SIZE]
    color = meta[M_TOMOVE]
    if p == n * n:
        meta[M_PASSES] += 1
        meta[M_KO] = -1
    else:
        captured, cap_point = _place(st, meta, nbr, zob, p, color)
        h = st[F_HEAD, p]
        if captured == 1 and st[F_SIZE, h] == 1 and st[F_LIBS, h] == 1:
            meta[M_KO] = cap_point
        else:
            meta[M_KO] = -1
        meta[M_PASSES] = 0
        if meta[M_NHIST] < hist.shape[0]:
            hist[meta[M_NHIST]] = meta[M_HASH]
            meta[M_NHIST] += 1
    meta[M_LAST2] = meta[M_LAST]
    meta[M_LAST] = p
    meta[M_MOVES] += 1
    meta[M_TOMOVE] = 3 - color


@njit(cache=True)
def rebuild(st, meta, nbr, zob):
    """Recompute chains, liberties, empties and hash from the colour row alone."""
    nn = st.shape[1]
    meta[M_HASH] = 0
    meta[M_NEMPTY] = 0
    for p in range(nn):
        st[F_HEAD, p] = -1
        st[F_NEXT, p] = -1
    for p in range(nn):
        c = st[F_COLOR, p]
        if c == EMPTY:
            _empty_add(st, meta, p)
            st[F_AGE, p] = -1
            continue
        meta[M_HASH] ^= zob[c, p]
        if st[F_HEAD, p] >= 0:
            continue
        # flood fill the chain through the ring being built
        st[F_HEAD, p] = p
        st[F_NEXT, p] = p
        size = 1
        q = p
        while True:
            for k in range(4):
                r = nbr[q, k]
                if r >= 0 and st[F_COLOR, r] == c and st[F_HEAD, r] < 0:
                    # insert after q so the walk visits r before it closes the ring
                    st[F_HEAD, r] = p
                    st[F_NEXT, r] = st[F_NEXT, q]
                    st[F_NEXT, q] = r
                    size += 1
            q = st[F_NEXT, q]
            if q == p:
                break
        st[F_SIZE, p] = size
        st[F_LIBS, p] = count_chain_libs(st, meta, nbr, p)


EMPTY_SLOT = np.int64(-0x7FFFFFFFFFFFFFF1)  # a hash value taken to mean "no entry"


@njit(cache=True)
def history_table(hist, nh):
    """Open-addressing set of the first ``nh`` hashes of ``hist`` ([power of two >= 2 nh]
    int64), so that testing many moves for superko costs O(1) each instead of O(moves)."""
    size = 64
    while size < 2 * (nh + 1):
        size *= 2
    table = np.full(size, EMPTY_SLOT, np.int64)
    mask = size - 1
    for i in range(nh):
        h = hist[i]
        j = (h ^ (h >> 29)) & mask
        while table[j] != EMPTY_SLOT and table[j] != h:
            j = (j + 1) & mask
        table[j] = h
    return table


@njit(cache=True)
def in_table(table, h):
    mask = table.shape[0] - 1
    j = (h ^ (h >> 29)) & mask
    while table[j] != EMPTY_SLOT:
        if table[j] == h:
            return True
        j = (j + 1) & mask
    return False


@njit(cache=True, inline="always")
def empty_point_tests(colors, heads, libs_of, nbr, p, color):
    """``legal_basic``'s rules for an empty point p other than the ko point, over the
    board's rows (colours, chain heads, liberties): (legal, captures, every neighbour is
    ``color``'s). Inlined into the whole-board loops, which it makes about 5x faster than a
    ``legal_basic`` call per point."""
    legal = False
    captures = False
    all_own = True
    for k in range(4):
        r = nbr[p, k]
        if r < 0:
            continue
        cr = colors[r]
        if cr == EMPTY:
            legal = True
            all_own = False
        elif cr == color:
            if libs_of[heads[r]] > 1:
                legal = True
        else:
            all_own = False
            if libs_of[heads[r]] == 1:
                legal = True
                captures = True
    return legal, captures, all_own


@njit(cache=True)
def legal_mask(st, meta, hist, nbr, zob, superko, out):
    """out[p] = 1 where the side to move may play p; out[n*n] (pass) = 1. [n*n+1] uint8.
    Same answers as ``legal`` point by point; the superko history goes into a hash set
    once instead of being scanned for every point."""
    nn = st.shape[1]
    color = meta[M_TOMOVE]
    ko = meta[M_KO]
    colors = st[F_COLOR]
    heads = st[F_HEAD]
    libs_of = st[F_LIBS]
    table = history_table(hist, meta[M_NHIST] if superko else 0)
    for p in range(nn):
        out[p] = 0
        if colors[p] != EMPTY or p == ko:
            continue
        legal, captures, _ = empty_point_tests(colors, heads, libs_of, nbr, p, color)
        if not legal:
            continue
        if superko:
            x = capture_hash(st, nbr, zob, p, color)[0] if captures else np.int64(0)
            if in_table(table, meta[M_HASH] ^ zob[color, p] ^ x):
                continue
        out[p] = 1
    out[nn] = 1


@njit(cache=True)
def sensible_mask(st, meta, hist, nbr, diag, zob, superko, out):
    """``legal_mask`` without the side to move's own true eyes. [n*n+1] uint8."""
    legal_mask(st, meta, hist, nbr, zob, superko, out)
    color = meta[M_TOMOVE]
    for p in range(st.shape[1]):
        if out[p] and is_true_eye(st, nbr, diag, p, color):
            out[p] = 0


@njit(cache=True, inline="always")
def is_true_eye(st, nbr, diag, p, color):
    """Empty point whose neighbours are all ``color`` and that cannot be made false.

    Off-board diagonals count against the eye: on the edge no diagonal may be
    the opponent's, in the centre at most one.
    """
    if st[F_COLOR, p] != EMPTY:
        return False
    for k in range(4):
        r = nbr[p, k]
        if r >= 0 and st[F_COLOR, r] != color:
            return False
    opp = 3 - color
    bad = 0
    edge = 0
    for k in range(4):
        r = diag[p, k]
        if r < 0:
            edge = 1
        elif st[F_COLOR, r] == opp:
            bad += 1
    return bad + edge < 2


@njit(cache=True)
def area_owner(st, nbr, out):
    """Tromp-Taylor owner per point: 1 black, 2 white, 0 neutral. out [n*n] int8."""
    nn = st.shape[1]
    stack = np.empty(nn, np.int32)   # [n*n] points still to visit
    region = np.empty(nn, np.int32)  # [n*n] points of the current empty region
    seen = np.zeros(nn, np.uint8)
    for p in range(nn):
        c = st[F_COLOR, p]
        if c != EMPTY:
            out[p] = c
            continue
        if seen[p]:
            continue
        touch = 0
        top = 1
        stack[0] = p
        seen[p] = 1
        members = 0
        while top > 0:
            top -= 1
            q = stack[top]
            region[members] = q
            members += 1
            for k in range(4):
                r = nbr[q, k]
                if r < 0:
                    continue
                rc = st[F_COLOR, r]
                if rc == EMPTY:
                    if not seen[r]:
                        seen[r] = 1
                        stack[top] = r
                        top += 1
                else:
                    touch |= rc
        owner = touch if touch == BLACK or touch == WHITE else 0
        for i in range(members):
            out[region[i]] = owner


@njit(cache=True)
def area_score(st, nbr, komi):
    """Black area minus white area minus komi."""
    nn = st.shape[1]
    owner = np.empty(nn, np.int8)
    area_owner(st, nbr, owner)
    s = 0.0
    for p in range(nn):
        if owner[p] == BLACK:
            s += 1.0
        elif owner[p] == WHITE:
            s -= 1.0
    return s - komi



@njit(cache=True)
def outcome(st, mover, nbr, komi):
    """+1 if ``mover`` wins the position on area with this komi, -1 if it loses, 0 for
    a draw."""
    score = area_score(st, nbr, komi)
    if score == 0:
        return 0.0
    return 1.0 if (score > 0) == (mover == BLACK) else -1.0

@njit(cache=True, inline="always")
def random_move(st, meta, nbr, diag):
    """A uniformly drawn legal point that does not fill the mover's true eye, else pass."""
    n = meta[M_SIZE]
    ne = meta[M_NEMPTY]
    color = meta[M_TOMOVE]
    if ne == 0:
        return n * n
    start = np.random.randint(0, ne)
    for k in range(ne):
        i = start + k
        if i >= ne:
            i -= ne
        q = st[F_EMPTY, i]
        if is_true_eye(st, nbr, diag, q, color):
            continue
        if legal_basic(st, meta, nbr, q, color) == OK:
            return q
    return n * n


@njit(cache=True)
def random_playout(st, meta, hist, nbr, diag, zob, max_moves):
    """Play uniform random moves (simple ko only) until two passes or max_moves."""
    st, meta, hist, nbr = borrowed(st), borrowed(meta), borrowed(hist), borrowed(nbr)
    diag, zob = borrowed(diag), borrowed(zob)
    played = 0
    while meta[M_PASSES] < 2 and played < max_moves:
        commit(st, meta, hist, nbr, zob, random_move(st, meta, nbr, diag))
        played += 1
    return played


@njit(cache=True)
def seed_rng(seed):
    np.random.seed(seed)
