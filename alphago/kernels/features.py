"""Input planes for the networks, written into caller-given buffers (numba).

All planes are relative to the side to move. ``out`` is uint8 [C, n*n] (a
flat view of [C, n, n]). ``last`` is int16/int32 [K]: the K most recent moves,
most recent first, -1 for none and n*n for pass.
"""

import numpy as np
from numba import njit

from alphago.kernels.board import (EMPTY, F_COLOR, F_HEAD, F_LIBS, F_NEXT, F_SIZE, F_MARK,
                                   M_KO, M_TOMOVE, NF, NM, OK, _next_stamp, clear, commit,
                                   empty_point_tests, is_true_eye, legal_basic, rebuild)

BASIC_PLANES = 16
ALPHAGO_PLANES = 48
LADDER_DEPTH = 80  # plies a ladder is read before it is called a success for the runner


@njit(cache=True)
def load_position(colors, to_move, ko, st, meta, nbr, zob):
    """Fill kernel state from a colour array [n*n] int8 (no history)."""
    n = int(round(np.sqrt(colors.shape[0])))
    clear(st, meta, n)
    for p in range(colors.shape[0]):
        st[F_COLOR, p] = colors[p]
    rebuild(st, meta, nbr, zob)
    meta[M_TOMOVE] = to_move
    meta[M_KO] = ko


@njit(cache=True)
def _turns_since(st, last, out, base, nplanes):
    """One-hot age of each stone among the last moves; older stones in the last plane
    when ``nplanes`` is the AlphaGo 8 (stones beyond the history count as oldest)."""
    nn = st.shape[1]
    placed = np.zeros(nn, np.uint8)
    for k in range(last.shape[0]):
        q = last[k]
        if q < 0 or q >= nn or placed[q]:
            continue
        placed[q] = 1
        if st[F_COLOR, q] != EMPTY and k < nplanes:
            out[base + k, q] = 1
        elif st[F_COLOR, q] != EMPTY:
            placed[q] = 2
    return placed


@njit(cache=True)
def fill_basic(st, meta, last, nbr, diag, out):
    """16 cheap planes: own/opp/empty, ones, turns since (4), own and opponent
    liberties 1/2/>=3 (6), sensible legal moves, capturing moves.

    One pass over each point's neighbours (``empty_point_tests``) decides both planes 14
    and 15: the move is legal and sensible (not the mover's true eye, which needs every
    neighbour to be the mover's); it captures when an opponent neighbour chain is in
    atari."""
    nn = st.shape[1]
    me = meta[M_TOMOVE]
    ko = meta[M_KO]
    colors = st[F_COLOR]
    heads = st[F_HEAD]
    libs_of = st[F_LIBS]
    out[:, :] = 0
    for p in range(nn):
        c = colors[p]
        out[3, p] = 1
        if c == EMPTY:
            out[2, p] = 1
            if p == ko:
                continue
            legal, captures, all_own = empty_point_tests(colors, heads, libs_of, nbr, p, me)
            if not legal or (all_own and is_true_eye(st, nbr, diag, p, me)):
                continue
            out[14, p] = 1
            if captures:
                out[15, p] = 1
            continue
        libs = libs_of[heads[p]]
        b = 0 if libs == 1 else (1 if libs == 2 else 2)
        if c == me:
            out[0, p] = 1
            out[8 + b, p] = 1
        else:
            out[1, p] = 1
            out[11 + b, p] = 1
    _turns_since(st, last, out, 4, 4)


@njit(cache=True)
def _after_move(st, meta, nbr, p, color):
    """(liberties after the move, stones captured, stones in the new chain), computed
    from the neighbouring chains without playing: captured chains' points adjacent
    to the new chain count as liberties."""
    opp = 3 - color
    stamp = _next_stamp(st, meta)
    captured = 0
    size = 1
    libs = 0
    st[F_MARK, p] = stamp  # p itself is not a liberty
    # capture first: mark captured stones with -stamp so they read as liberties
    for k in range(4):
        r = nbr[p, k]
        if r >= 0 and st[F_COLOR, r] == opp:
            h = st[F_HEAD, r]
            if st[F_LIBS, h] == 1 and st[F_MARK, h] != -stamp:
                q = h
                while True:
                    st[F_MARK, q] = -stamp
                    captured += 1
                    q = st[F_NEXT, q]
                    if q == h:
                        break
    for k in range(4):
        r = nbr[p, k]
        if r < 0:
            continue
        c = st[F_COLOR, r]
        if c == EMPTY or st[F_MARK, r] == -stamp:
            if st[F_MARK, r] != stamp:
                st[F_MARK, r] = stamp
                libs += 1
        elif c == color:
            h = st[F_HEAD, r]
            already = False  # walk each own chain once
            for kk in range(k):
                rr = nbr[p, kk]
                if rr >= 0 and st[F_COLOR, rr] == color and st[F_HEAD, rr] == h:
                    already = True
            if already:
                continue
            size += st[F_SIZE, h]
            q = h
            while True:
                for j in range(4):
                    a = nbr[q, j]
                    if a >= 0 and (st[F_COLOR, a] == EMPTY or st[F_MARK, a] == -stamp) \
                            and st[F_MARK, a] != stamp:
                        st[F_MARK, a] = stamp
                        libs += 1
                q = st[F_NEXT, q]
                if q == h:
                    break
    # captured stones keep their -stamp mark: negative marks never match a later stamp
    return libs, captured, size


@njit(cache=False)  # recursion: numba's cache of it crashes on reload
def _ladder_escapes(st, meta, hist, nbr, zob, target, depth):
    """True if the chain at ``target`` (in atari, its owner to move) gets away.

    The runner may capture an adjacent attacker in atari or extend at the last
    liberty; the attacker then tries both liberties of a two-liberty chain.
    """
    runner = st[F_COLOR, target]
    if depth <= 0:
        return True
    h = st[F_HEAD, target]
    # collect the single liberty and capturable attackers
    lib = -1
    q = h
    cands = np.empty(8, np.int32)
    nc = 0
    while True:
        for k in range(4):
            a = nbr[q, k]
            if a < 0:
                continue
            c = st[F_COLOR, a]
            if c == EMPTY:
                lib = a
            elif c == 3 - runner and st[F_LIBS, st[F_HEAD, a]] == 1 and nc < 7:
                # capture the attacker stone: its single liberty is the move
                ha = st[F_HEAD, a]
                qq = ha
                while True:
                    for j in range(4):
                        b = nbr[qq, j]
                        if b >= 0 and st[F_COLOR, b] == EMPTY:
                            cands[nc] = b
                    qq = st[F_NEXT, qq]
                    if qq == ha:
                        break
                nc += 1
        q = st[F_NEXT, q]
        if q == h:
            break
    if lib >= 0:
        cands[nc] = lib
        nc += 1
    for i in range(nc):
        m = cands[i]
        if st[F_COLOR, m] != EMPTY or legal_basic(st, meta, nbr, m, runner) != OK:
            continue
        st2 = st.copy()
        meta2 = meta.copy()
        meta2[M_TOMOVE] = runner
        commit(st2, meta2, hist, nbr, zob, m)
        libs = st2[F_LIBS, st2[F_HEAD, target]]
        if libs >= 3:
            return True
        if libs == 2 and not _ladder_captures(st2, meta2, hist, nbr, zob, target, depth - 1):
            return True
    return False


@njit(cache=False)  # recursion: numba's cache of it crashes on reload
def _ladder_captures(st, meta, hist, nbr, zob, target, depth):
    """True if the attacker (to move) captures the two-liberty chain at ``target``
    by a ladder: an atari on either liberty that the runner cannot escape."""
    runner = st[F_COLOR, target]
    attacker = 3 - runner
    h = st[F_HEAD, target]
    libs = np.empty(2, np.int32)
    nl = 0
    stamp = _next_stamp(st, meta)
    q = h
    while True:
        for k in range(4):
            a = nbr[q, k]
            if a >= 0 and st[F_COLOR, a] == EMPTY and st[F_MARK, a] != stamp:
                st[F_MARK, a] = stamp
                if nl < 2:
                    libs[nl] = a
                nl += 1
        q = st[F_NEXT, q]
        if q == h:
            break
    if nl != 2:
        return nl < 2
    for i in range(2):
        m = libs[i]
        if legal_basic(st, meta, nbr, m, attacker) != OK:
            continue
        st2 = st.copy()
        meta2 = meta.copy()
        meta2[M_TOMOVE] = attacker
        meta2[M_KO] = -1
        commit(st2, meta2, hist, nbr, zob, m)
        if st2[F_COLOR, target] == EMPTY:
            return True
        hm = st2[F_HEAD, m]
        if st2[F_LIBS, hm] == 1:
            continue  # the attacker's own stone would just be captured
        if st2[F_LIBS, st2[F_HEAD, target]] == 1 and \
                not _ladder_escapes(st2, meta2, hist, nbr, zob, target, depth - 1):
            return True
    return False


@njit(cache=False)  # recursion: numba's cache of it crashes on reload
def ladder_capture(st, meta, nbr, zob, p):
    """Does the side to move, playing p, start a ladder that captures an adjacent chain?"""
    me = meta[M_TOMOVE]
    hist = np.empty(0, np.int64)
    for k in range(4):
        r = nbr[p, k]
        if r < 0 or st[F_COLOR, r] != 3 - me or st[F_LIBS, st[F_HEAD, r]] != 2:
            continue
        st2 = st.copy()
        meta2 = meta.copy()
        commit(st2, meta2, hist, nbr, zob, p)
        if st2[F_LIBS, st2[F_HEAD, p]] < 2:
            continue
        if st2[F_COLOR, r] != EMPTY and st2[F_LIBS, st2[F_HEAD, r]] == 1 and \
                not _ladder_escapes(st2, meta2, hist, nbr, zob, r, LADDER_DEPTH):
            return True
    return False


@njit(cache=False)  # recursion: numba's cache of it crashes on reload
def ladder_escape(st, meta, nbr, zob, p):
    """Does p save an own chain now in atari from a ladder (the move leaves it with
    three or more liberties, or with two that the opponent cannot ladder)?"""
    me = meta[M_TOMOVE]
    hist = np.empty(0, np.int64)
    atari = False
    for k in range(4):
        r = nbr[p, k]
        if r >= 0 and st[F_COLOR, r] == me and st[F_LIBS, st[F_HEAD, r]] == 1:
            atari = True
        if r >= 0 and st[F_COLOR, r] == 3 - me and st[F_LIBS, st[F_HEAD, r]] == 1:
            # capturing an attacker can also rescue a neighbouring chain in atari
            atari = True
    if not atari:
        return False
    nn = st.shape[1]
    rescued = False
    st2 = st.copy()
    meta2 = meta.copy()
    commit(st2, meta2, hist, nbr, zob, p)
    for q in range(nn):
        if st[F_COLOR, q] != me or st[F_LIBS, st[F_HEAD, q]] != 1 or st[F_HEAD, q] != q:
            continue
        # only chains that the move touches or whose attacker it captured
        if st2[F_COLOR, q] != me:
            continue
        libs = st2[F_LIBS, st2[F_HEAD, q]]
        if libs >= 3:
            rescued = True
        elif libs == 2:
            meta2[M_TOMOVE] = 3 - me
            if not _ladder_captures(st2, meta2, hist, nbr, zob, q, LADDER_DEPTH):
                rescued = True
    return rescued


@njit(cache=False)  # recursion: numba's cache of it crashes on reload
def fill_alphago(st, meta, last, nbr, diag, zob, out):
    """AlphaGo's 48 planes (Extended Data Table 2), RocAlphaGo's bins where the paper
    gives none: colour 3, ones, turns since 8, liberties 8, capture size 8,
    self-atari size 8, liberties after move 8, ladder capture, ladder escape,
    sensibleness, zeros."""
    nn = st.shape[1]
    me = meta[M_TOMOVE]
    out[:, :] = 0
    placed = _turns_since(st, last, out, 4, 7)
    for p in range(nn):
        c = st[F_COLOR, p]
        out[3, p] = 1
        if c != EMPTY:
            out[0 if c == me else 1, p] = 1
            if placed[p] != 1:
                out[11, p] = 1  # turns since >= 7 (or older than the history we keep)
            libs = st[F_LIBS, st[F_HEAD, p]]
            out[12 + min(libs, 8) - 1, p] = 1
            continue
        out[2, p] = 1
        if legal_basic(st, meta, nbr, p, me) != OK:
            continue
        libs_after, captured, size = _after_move(st, meta, nbr, p, me)
        out[20 + min(captured, 7), p] = 1
        if libs_after == 1:
            out[28 + min(size, 8) - 1, p] = 1
        if libs_after >= 1:
            out[36 + min(libs_after, 8) - 1, p] = 1
        if ladder_capture(st, meta, nbr, zob, p):
            out[44, p] = 1
        if ladder_escape(st, meta, nbr, zob, p):
            out[45, p] = 1
        if not is_true_eye(st, nbr, diag, p, me):
            out[46, p] = 1


@njit(cache=True)
def _load_sym(colors, to_move, ko, last, perm, st, meta, sym_colors, sym_last, nbr, zob):
    nn = colors.shape[0]
    for p in range(nn):
        sym_colors[perm[p]] = colors[p]
    for k in range(last.shape[0]):
        q = last[k]
        sym_last[k] = perm[q] if q >= 0 else -1
    load_position(sym_colors, to_move, perm[ko] if ko >= 0 else -1, st, meta, nbr, zob)


@njit(cache=True)
def fill_batch_basic(colors, to_move, ko, last, perms, nbr, diag, zob, out):
    """Basic planes for a batch of stored positions, each under its own symmetry.

    colors [B, n*n] int8 (1 black, 2 white), to_move [B], ko [B], last [B, K],
    perms [B, n*n+1] (point map of each sample's symmetry), out [B, C, n*n] uint8.
    """
    b_count, nn = colors.shape
    st = np.zeros((NF, nn), np.int32)
    meta = np.zeros(NM, np.int64)
    sym_colors = np.empty(nn, np.int8)
    sym_last = np.empty(last.shape[1], np.int32)
    for b in range(b_count):
        _load_sym(colors[b], to_move[b], ko[b], last[b], perms[b], st, meta, sym_colors,
                  sym_last, nbr, zob)
        fill_basic(st, meta, sym_last, nbr, diag, out[b])


@njit(cache=False)  # calls the recursive ladder reader, see above
def fill_batch_alphago(colors, to_move, ko, last, perms, nbr, diag, zob, out):
    """As fill_batch_basic, with AlphaGo's 48 planes."""
    b_count, nn = colors.shape
    st = np.zeros((NF, nn), np.int32)
    meta = np.zeros(NM, np.int64)
    sym_colors = np.empty(nn, np.int8)
    sym_last = np.empty(last.shape[1], np.int32)
    for b in range(b_count):
        _load_sym(colors[b], to_move[b], ko[b], last[b], perms[b], st, meta, sym_colors,
                  sym_last, nbr, zob)
        fill_alphago(st, meta, sym_last, nbr, diag, zob, out[b])
