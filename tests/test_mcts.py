import math

import numpy as np
import pytest

from alphago import coords
from alphago.board import BLACK, WHITE, Position
from alphago.config import SearchConfig
from alphago.evaluator import CoalescingEvaluator, UniformEvaluator, coalesced
from alphago.features import get_feature_set
from alphago.kernels import board as kb
from alphago.kernels import tree as kt
from alphago.kernels import rollout as kr
from alphago.kernels.rollout import rollouts
from alphago.mcts import MAX_DEPTH, MCTS, MoveRestriction, ban_table
from alphago.player import MCTSPlayer

NO_POLICY = np.zeros(0, np.float32)
NO_BANS = kt.no_bans(26)  # small_tree's 5x5 actions


def small_tree(m=8, a=26):
    N = np.zeros((m, a), np.int32)
    W = np.zeros((m, a), np.float32)
    P = np.zeros((m, a), np.float32)
    C = np.full((m, a), -1, np.int32)
    info = np.zeros(4, np.int64)
    kt.reset(N, W, P, C, info)
    return N, W, P, C, info


def test_puct_exact_numbers():
    N, W, P, C, info = small_tree()
    P[0, [0, 1, 2]] = [0.5, 0.3, 0.2]
    N[0, [0, 1, 2]] = [10, 2, 0]
    W[0, [0, 1, 2]] = [6.0, -1.0, 0.0]
    c = 5.0
    total = 12
    scores = {a: (W[0, a] / N[0, a] if N[0, a] else 0.0)
              + c * P[0, a] * math.sqrt(total) / (1 + N[0, a]) for a in (0, 1, 2)}
    # 0: 0.6 + 5*.5*3.464/11 = 1.387; 1: -0.5 + 5*.3*3.464/3 = 1.232; 2: 0 + 5*.2*3.464 = 3.464
    assert scores[2] == pytest.approx(3.4641, abs=1e-3)
    assert kt.puct_select(N, W, P, 0, c, NO_BANS, 0) == 2
    assert kt.puct_select(N, W, P, 0, 0.1, NO_BANS, 0) == 0  # little exploration: best Q wins
    P[0, 2] = 0.0
    assert kt.puct_select(N, W, P, 0, c, NO_BANS, 0) == 0  # 1.387 > 1.232
    P[0, :] = 0
    assert kt.puct_select(N, W, P, 0, c, NO_BANS, 0) == -1


def test_banned_actions_are_left_out_at_their_depth_unless_none_is_left():
    N, W, P, C, info = small_tree()
    P[0, [0, 1, 2]] = [0.5, 0.3, 0.2]
    banned = np.zeros((1, 26), np.uint8)
    banned[0, 2] = 1  # the unbanned choice would be 2 (test_puct_exact_numbers)
    N[0, [0, 1, 2]] = [10, 2, 0]
    W[0, [0, 1, 2]] = [6.0, -1.0, 0.0]
    assert kt.puct_select(N, W, P, 0, 5.0, banned, 0) == 0
    assert kt.puct_select(N, W, P, 0, 5.0, banned, 1) == 2  # deeper than the table: free
    banned[0, [0, 1]] = 1
    assert kt.puct_select(N, W, P, 0, 5.0, banned, 0) == 2  # all banned: the ban gives way


def test_ban_table_by_depth_and_colour():
    n, a = 5, 26
    avoid = MoveRestriction(False, BLACK, (0, 25), 3)  # black's moves at plies 0 and 2
    allow = MoveRestriction(True, WHITE, (7, 8), 2)  # white's reply: only 7 or 8
    t = ban_table([avoid, allow], BLACK, n)
    assert t.shape == (3, a)
    assert set(np.flatnonzero(t[0])) == {0, 25} == set(np.flatnonzero(t[2]))
    assert set(np.flatnonzero(t[1] == 0)) == {7, 8}
    t = ban_table([avoid, allow], WHITE, n)  # white to move at the root
    assert set(np.flatnonzero(t[0] == 0)) == {7, 8} and set(np.flatnonzero(t[1])) == {0, 25}
    assert not t[2].any()
    assert ban_table([], BLACK, n).shape == (0, a)
    deep = ban_table([MoveRestriction(False, BLACK, (0,), 10**30)], BLACK, n)
    assert deep.shape == (MAX_DEPTH, a)  # no deeper than a search can go


def test_virtual_loss_and_backup_arithmetic():
    N, W, P, C, info = small_tree()
    pos = Position(5)
    P[0, 12] = 1.0
    P[1, 7] = 1.0
    C[0, 12] = 1
    info[kt.I_NODES] = 2
    path_s = np.zeros(10, np.int64)
    path_a = np.zeros(10, np.int64)
    st, meta, hist = pos.st.copy(), pos.meta.copy(), np.zeros(64, np.int64)
    d = kt.select_leaf(N, W, P, C, info, st, meta, hist, pos.nbr, pos.zob, 5.0, 3,
                       path_s, path_a, kt.no_bans(N.shape[1]))
    assert d == 2 and list(path_s[:2]) == [0, 1] and list(path_a[:2]) == [12, 7]
    assert N[0, 12] == 3 and W[0, 12] == -3 and N[1, 7] == 3 and W[1, 7] == -3
    assert st[kb.F_COLOR, 12] == BLACK and st[kb.F_COLOR, 7] == WHITE
    kt.backup(N, W, path_s, path_a, d, 0.5, 3)  # leaf (black to move) is worth +0.5 to black
    assert N[0, 12] == 1 and W[0, 12] == pytest.approx(0.5)  # black chose 12: good for black
    assert N[1, 7] == 1 and W[1, 7] == pytest.approx(-0.5)  # white chose 7: bad for white
    kt.select_leaf(N, W, P, C, info, st, meta, hist, pos.nbr, pos.zob, 5.0, 3, path_s, path_a,
                   kt.no_bans(N.shape[1]))
    kt.revert_virtual_loss(N, W, path_s, path_a, d, 3)
    assert N[0, 12] == 1 and W[0, 12] == pytest.approx(0.5)


class FixedPolicy:
    """An evaluator whose prior loves one (wrong) point and has no value head."""

    has_value = False
    has_policy = True

    def __init__(self, favourite: int, n: int):
        self.feature_set = get_feature_set("basic")
        self.fav = favourite
        self.n = n

    def evaluate(self, planes):
        b = planes.shape[0]
        pri = np.full((b, self.n * self.n + 1), 0.2 / (self.n * self.n), np.float32)
        # the prior is in the network's (symmetry-transformed) frame: mark the favourite
        # wherever it lands by looking at a plane that is 1 only there (none), so instead
        # favour the same flat index in every frame: the search must overcome it anyway
        pri[:, self.fav] = 0.8
        return pri, np.zeros(b, np.float32)


# black's D-chain and white's C- and E-chains all hang on single liberties:
# whoever plays D5 first captures; black may also take the E-chain at E5.
SEMEAI = """
    . X O . .
    . X O X O
    . X O X O
    . X O X O
    . X O X O"""


def test_search_finds_the_capture_the_policy_misses():
    pos = Position.from_ascii(SEMEAI, to_move=BLACK, komi=0.5)
    d5, e5 = coords.from_gtp("D5", 5), coords.from_gtp("E5", 5)
    assert pos.liberties(coords.from_gtp("C3", 5)) == 1
    assert pos.liberties(coords.from_gtp("D3", 5)) == 1
    ev = FixedPolicy(favourite=coords.from_gtp("A3", 5), n=5)
    cfg = SearchConfig(visits=800, batch_size=8, max_nodes=5000, seed=1)
    prior = MCTSPlayer(ev, cfg).policy(pos)
    assert prior.argmax() not in (d5, e5)  # the raw policy gets it wrong
    assert MCTSPlayer(ev, cfg).genmove(pos, allow_resign=False).move in (d5, e5)
    white = Position.from_ascii(SEMEAI, to_move=WHITE, komi=0.5)
    assert MCTSPlayer(ev, cfg).genmove(white, allow_resign=False).move == d5


def test_avoid_and_allow_steer_the_search_and_its_answer():
    pos = Position.from_ascii(SEMEAI, to_move=BLACK, komi=0.5)
    d5, e5 = coords.from_gtp("D5", 5), coords.from_gtp("E5", 5)
    cfg = SearchConfig(visits=400, batch_size=8, max_nodes=5000, seed=1)
    player = MCTSPlayer(FixedPolicy(favourite=coords.from_gtp("A3", 5), n=5), cfg)
    assert player.genmove(pos, allow_resign=False).move in (d5, e5)  # visits stay in the tree
    avoid = ban_table([MoveRestriction(False, BLACK, (d5, e5), 1)], BLACK, 5)
    res = player.genmove(pos, allow_resign=False, banned=avoid)
    assert res.move not in (d5, e5) and res.visits >= 400
    assert not {c.move for c in res.candidates} & {d5, e5}  # a fresh tree: none left over
    a1 = coords.from_gtp("A1", 5)
    only = ban_table([MoveRestriction(True, BLACK, (a1,), 1)], BLACK, 5)
    res = player.genmove(pos, allow_resign=False, banned=only)
    assert res.move == a1 and [c.move for c in res.candidates] == [a1]
    # white's replies at ply 1: D5 (the capture) is left out, everywhere in the tree
    reply = ban_table([MoveRestriction(False, WHITE, (d5,), 2)], BLACK, 5)
    t = player.search(pos, visits=400, banned=reply)
    children = t.C[0][t.C[0] >= 0]
    assert len(children) and all(t.N[c, d5] == 0 for c in children)
    assert player.genmove(pos, allow_resign=False).move in (d5, e5)  # unrestricted again


EYE = """
    . . . . .
    . . . . .
    . . . . .
    X X . . .
    . X . . ."""


def test_an_allowed_move_comes_before_a_banned_one_even_when_insensible():
    """allow A1 alone, black's own true eye: both players play it rather than a banned
    sensible move; avoid pass stops the pass-when-winning shortcut; a ban that keeps no
    legal move gives way."""
    from alphago.player import PolicyPlayer, within_root_bans

    pos = Position.from_ascii(EYE, to_move=BLACK, komi=0.5)
    a1, c3 = coords.from_gtp("A1", 5), coords.from_gtp("C3", 5)
    assert pos.legal_moves()[a1] and not pos.sensible_moves()[a1]
    only = ban_table([MoveRestriction(True, BLACK, (a1,), 1)], BLACK, 5)
    ev = FixedPolicy(favourite=c3, n=5)
    cfg = SearchConfig(visits=64, batch_size=8, max_nodes=2000, seed=1)
    assert MCTSPlayer(ev, cfg).genmove(pos, allow_resign=False).move != a1
    assert MCTSPlayer(ev, cfg).genmove(pos, allow_resign=False, banned=only).move == a1
    assert PolicyPlayer(ev).genmove(pos).move != a1
    assert PolicyPlayer(ev).genmove(pos, banned=only).move == a1
    # white passed and black wins as the board stands: the shortcut passes, unless avoided
    pos.play(c3)
    pos.play(pos.pass_move)
    no_pass = ban_table([MoveRestriction(False, BLACK, (pos.pass_move,), 1)], BLACK, 5)
    assert PolicyPlayer(ev).genmove(pos).move == pos.pass_move
    assert PolicyPlayer(ev).genmove(pos, banned=no_pass).move != pos.pass_move
    # nothing legal allowed (an occupied point): the ban gives way
    taken = ban_table([MoveRestriction(True, BLACK, (c3,), 1)], BLACK, 5)
    mask = pos.sensible_moves()
    assert np.array_equal(within_root_bans(pos, mask, taken), mask)


def test_rollouts_return_outcomes_for_the_mover():
    pos = Position(9)
    sts = np.stack([pos.st] * 16)
    metas = np.stack([pos.meta] * 16)
    z = rollouts(sts, metas, pos.nbr, pos.diag, pos.zob, 7.5, 243, np.arange(16), NO_POLICY)
    assert set(np.unique(z)) <= {-1.0, 0.0, 1.0}
    white_big = Position.from_ascii("O O O O O\nO . O . O\nO O O O O\nO O O O O\nO O O O O")
    z2 = rollouts(np.stack([white_big.st] * 8), np.stack([white_big.meta] * 8), white_big.nbr,
                  white_big.diag, white_big.zob, 7.5, 75, np.arange(8), NO_POLICY)
    assert (z2 == -1).all()  # black cannot play into white's two eyes: white wins


def test_node_pool_exhaustion_degrades_gracefully():
    pos = Position(9)
    cfg = SearchConfig(visits=400, max_nodes=20, batch_size=4)
    t = MCTS(UniformEvaluator(), cfg, 9)
    t.set_root(pos)
    done = t.run(pos, visits=400)
    assert done == 400 and t.info[kt.I_NODES] <= 20
    assert t.root_visits() == 400
    assert t.choose() in range(82)


def test_tree_reuse_keeps_the_subtree():
    pos = Position(9)
    cfg = SearchConfig(visits=200, max_nodes=4000, batch_size=4)
    player = MCTSPlayer(UniformEvaluator(), cfg)
    res = player.genmove(pos)
    pos.play(res.move)
    t = player.tree(9)
    child = t.C[0, res.move]
    before = int(t.N[child].sum()) if child >= 0 else 0
    t.set_root(pos)
    assert t.root_visits() == before and before > 0


def test_analysis_candidates_are_consistent():
    pos = Position(9)
    cfg = SearchConfig(visits=120, max_nodes=4000, batch_size=4)
    player = MCTSPlayer(UniformEvaluator(), cfg)
    res = player.genmove(pos)
    assert sum(c.visits for c in res.candidates) == res.visits == 120
    assert res.candidates[0].visits >= res.candidates[-1].visits
    for c in res.candidates:
        assert 0 <= c.winrate <= 1 and c.lcb <= c.winrate and c.pv[0] == c.move


def test_policy_rollouts_end_scored():
    pos = Position(9)
    w = kr.default_weights()
    z = rollouts(np.stack([pos.st] * 8), np.stack([pos.meta] * 8), pos.nbr, pos.diag, pos.zob,
                 7.5, 243, np.arange(8), w)
    assert set(np.unique(z)) <= {-1.0, 0.0, 1.0}
    st, meta = pos.st.copy(), pos.meta.copy()
    kb.seed_rng(0)
    moves = kr.policy_playout(st, meta, np.empty(0, np.int64), pos.nbr, pos.diag, pos.zob, w, 243)
    assert meta[kb.M_PASSES] >= 2 and moves < 243
    from conftest import chains_from_scratch

    assert all(libs > 0 for libs in chains_from_scratch(st[kb.F_COLOR], 9).values())


def _examine(pos, vertex, color):
    ok, pattern, bits = kr.examine(pos.st, pos.meta, pos.nbr, pos.diag,
                                   coords.from_gtp(vertex, pos.size), color)
    return ok, pattern, {f for f in range(4) if bits & (1 << f)}


def test_rollout_policy_flags():
    pos = Position.from_ascii("""
        . X O . .
        X O . . .
        . X . . .
        . . . . .
        . . . . .""", to_move=BLACK)
    ok, _, flags = _examine(pos, "C4", BLACK)
    assert ok and flags == {kr.F_CAPTURE, kr.F_ATARI}  # takes B4, leaves C5 one liberty
    ok, _, flags = _examine(pos, "A5", BLACK)
    assert ok and flags == {kr.F_SELF_ATARI}  # A5 joins B5 with one liberty left
    ok, _, flags = _examine(pos, "D5", BLACK)
    assert ok and flags == {kr.F_ATARI}  # C5 is left with one liberty
    white = Position.from_ascii("""
        . X O . .
        X O . . .
        . X . . .
        . . . . .
        . . . . .""", to_move=WHITE)
    ok, _, flags = _examine(white, "C4", WHITE)
    assert ok and kr.F_SAVE in flags  # extends B4 out of atari
    ok, _, flags = _examine(white, "A5", WHITE)
    assert ok and kr.F_CAPTURE in flags  # B5's last liberty: a capture, so no suicide


def test_examine_agrees_with_the_rules_core():
    """examine's legality and true-eye answers equal board.legal_basic and is_true_eye,
    and its pattern bucket does not depend on anything beyond the 3x3 neighbourhood."""
    rng = np.random.default_rng(3)
    for game in range(6):
        pos = Position(9)
        for _ in range(70):
            for p in np.flatnonzero(pos.colors.ravel() == 0):
                for color in (BLACK, WHITE):
                    ok, pattern, _ = kr.examine(pos.st, pos.meta, pos.nbr, pos.diag, p, color)
                    legal = kb.legal_basic(pos.st, pos.meta, pos.nbr, p, color) == kb.OK
                    eye = kb.is_true_eye(pos.st, pos.nbr, pos.diag, p, color)
                    assert ok == (legal and not eye)
                    assert 0 <= pattern < kr.PAT_BUCKETS
            legal = np.flatnonzero(pos.legal_moves()[:-1])
            if not len(legal):
                break
            pos.play(int(rng.choice(legal)))


def test_pass_only_when_winning_with_dead_stones_removed():
    from alphago.player import wins_if_game_ends

    # white's lone stone inside black's area is dead: black wins although the raw
    # Tromp-Taylor count (stone alive) is close
    pos = Position.from_ascii("""
        . . X O .
        . . X O .
        . O X O .
        . . X O .
        . . X O .""", to_move=BLACK, komi=0.5)
    assert pos.score() < 0  # the raw count, dead stone included, says white
    assert wins_if_game_ends(pos)


class CountingUniform(UniformEvaluator):
    """A policy network with flat priors, no value; counts the positions it is asked to
    evaluate. (The search does not call an evaluator that has neither head.)"""

    has_policy = True

    def __init__(self):
        super().__init__()
        self.positions = 0

    def evaluate(self, planes):
        self.positions += planes.shape[0]
        return super().evaluate(planes)


def test_expansion_threshold_delays_nodes_and_network_calls():
    pos = Position(9)
    stats = {}
    for threshold in (1, 8):
        ev = CountingUniform()
        cfg = SearchConfig(visits=600, max_nodes=5000, batch_size=8, expand_visits=threshold,
                           nn_cache_size=0, seed=3)
        t = MCTS(ev, cfg, 9)
        t.set_root(pos)
        assert t.run(pos, visits=600) == 600 and t.root_visits() == 600
        parent_s, parent_a = np.nonzero(t.C[: t.info[kt.I_NODES]] >= 0)
        # every expanded edge had reached the threshold when its child was made
        assert (t.N[parent_s, parent_a] >= threshold).all()
        stats[threshold] = (int(t.info[kt.I_NODES]), ev.positions)
    assert stats[8][0] < stats[1][0] / 3  # far fewer nodes
    assert stats[8][1] < stats[1][1] / 3  # and network calls: rollouts value the rest


def test_evaluation_cache_bound_and_lru():
    from alphago.evaluator import NNCache

    cache = NNCache(3)
    for k in range(5):
        cache.put(k, np.full(4, k, np.float32), float(k))
    assert len(cache) == 3 and cache.get(0) is None and cache.get(1) is None
    assert cache.get(2)[1] == 2.0  # 2 is now the most recent: 3 goes next
    cache.put(9, np.zeros(4, np.float32), 0.0)
    assert cache.get(3) is None and cache.get(2) is not None
    assert cache.hits == 2 and cache.lookups == 5
    off = NNCache(0)
    off.put(1, np.zeros(4, np.float32), 0.0)
    assert len(off) == 0


def test_evaluation_cache_saves_a_rebuilt_tree():
    pos = Position(9)
    pos.play(coords.from_gtp("E5", 9))
    counts = []
    for size in (0, 10_000):
        ev = CountingUniform()
        cfg = SearchConfig(visits=300, max_nodes=5000, batch_size=4, rollouts=False,
                           nn_cache_size=size, seed=5)
        t = MCTS(ev, cfg, 9)
        for _ in range(2):  # the same search twice from a fresh tree (new game, undo...)
            t.root_moves = None
            t.set_root(pos)
            t.run(pos, visits=300)
        counts.append(ev.positions)
        assert len(t.cache) <= size
    assert counts[1] < 0.75 * counts[0]  # the second search found most leaves cached


def test_hashed_superko_mask_equals_the_reference():
    rng = np.random.default_rng(7)
    out = np.zeros(82, np.uint8)
    checked = 0
    for game in range(6):
        pos = Position(9)
        for _ in range(160):
            legal = np.flatnonzero(pos.legal_moves()[:-1])
            if len(legal) == 0:
                break
            pos.play(int(rng.choice(legal)))
            # the reference: legal() point by point, scanning the whole history
            ref = [kb.legal(pos.st, pos.meta, pos.hist, pos.nbr, pos.zob, p, pos.to_move, True)
                   == kb.OK for p in range(81)] + [True]
            kb.legal_mask(pos.st, pos.meta, pos.hist, pos.nbr, pos.zob, True, out)
            assert (out == np.array(ref, np.uint8)).all()
            checked += 1
    assert checked > 500


class _SlowRandomEvaluator:
    """Random priors and values; sleeps in evaluate (releasing the GIL) so that search
    threads really overlap. ``fail_after`` calls, it raises."""

    has_value = True
    has_policy = True

    def __init__(self, seconds=0.001, fail_after=None):
        self.feature_set = get_feature_set("basic")
        self.seconds, self.fail_after, self.calls = seconds, fail_after, 0
        self.rng = np.random.default_rng(0)

    def evaluate(self, planes):
        import time

        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("evaluator failed")
        time.sleep(self.seconds)
        b, _, n, _ = planes.shape
        pr = self.rng.random((b, n * n + 1)).astype(np.float32)
        return pr / pr.sum(1, keepdims=True), self.rng.uniform(-1, 1, b).astype(np.float32)


def _leaf_ends(t: MCTS) -> int:
    """Simulations that ended at each edge, summed: every visit of an edge either ends
    there or goes on into its child, so this equals the simulations backed up."""
    used = t.nodes()
    N, C = t.N[:used].astype(np.int64), t.C[:used]
    through = sum(int(N[c].sum()) for c in C[C >= 0])
    return int(N.sum()) - through


def _assert_valid_tree(t: MCTS) -> None:
    used = t.nodes()
    N, W, C = t.N[:used], t.W[:used], t.C[:used]
    assert (N >= 0).all()
    assert (np.abs(W) <= N + 1e-3).all()  # values in [-1, 1]: no virtual loss left over
    children = C[C >= 0]
    assert len(children) == len(set(children.tolist()))  # each node has one parent
    assert ((children > 0) & (children < used)).all()


@pytest.mark.parametrize("threads,coalesce", [(1, "auto"), (2, "auto"), (4, "off"),
                                              (4, "on")])
def test_threaded_search_counts_every_visit_once(threads, coalesce):
    cfg = SearchConfig(visits=600, batch_size=4, threads=threads, max_nodes=4000,
                       rollouts=True, nn_cache_size=0, nn_coalesce=coalesce)
    t = MCTS(_SlowRandomEvaluator(), cfg, 9)
    assert isinstance(t.ev, CoalescingEvaluator) == (coalesce == "on")
    pos = Position(9)
    t.set_root(pos)
    assert t.run(pos, 600) == 600
    assert t.root_visits() == 600
    assert _leaf_ends(t) == 600
    _assert_valid_tree(t)
    # a second run on the same tree adds exactly its own visits
    assert t.run(pos, 200) == 200
    assert t.root_visits() == 800 and _leaf_ends(t) == 800
    _assert_valid_tree(t)


def test_threaded_search_reports_a_settled_tree_while_running():
    cfg = SearchConfig(visits=400, batch_size=8, threads=3, max_nodes=4000, nn_cache_size=0)
    player = MCTSPlayer(_SlowRandomEvaluator(0.002), cfg)
    pos = Position(9)
    seen = []
    t = player.tree(9)
    t.set_root(pos)

    def on_batch():
        res = player.result(t, 0.0)
        seen.append(res.visits)
        assert all(0.0 <= c.winrate <= 1.0 for c in res.candidates)
        with t.settled():
            assert _leaf_ends(t) == t.root_visits()  # no batch in flight inside the block

    t.run(pos, 400, on_batch=on_batch)
    assert seen and max(seen) <= 400 and seen == sorted(seen)
    _assert_valid_tree(t)


def test_a_failing_search_thread_stops_the_search_and_leaves_no_virtual_loss():
    cfg = SearchConfig(visits=1000, batch_size=4, threads=3, max_nodes=4000, nn_cache_size=0)
    t = MCTS(_SlowRandomEvaluator(fail_after=20), cfg, 9)
    pos = Position(9)
    with pytest.raises(RuntimeError, match="evaluator failed"):
        t.set_root(pos)
        t.run(pos, 1000)
    assert t.root_visits() < 1000
    assert _leaf_ends(t) == t.root_visits()
    _assert_valid_tree(t)


class _PlanesEvaluator:
    """Priors and values computed from each position's own planes (so a caller that got
    another caller's rows would see it), slowly, counting its calls and positions."""

    has_value = True
    has_policy = True

    def __init__(self, seconds=0.002, fail=False):
        self.feature_set = get_feature_set("basic")
        self.seconds, self.fail = seconds, fail
        self.sizes = []

    def evaluate(self, planes):
        import time

        time.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("device lost")
        self.sizes.append(len(planes))
        flat = planes.reshape(len(planes), planes.shape[1], -1).sum(1).astype(np.float32)
        priors = np.concatenate([flat, np.ones((len(planes), 1), np.float32)], 1)
        return priors / priors.sum(1, keepdims=True), np.tanh(flat.mean(1) - 1.0)


def _concurrently(fn, count):
    import threading

    out, errors = [None] * count, []

    def call(i):
        try:
            out[i] = fn(i)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, errors


def test_coalesced_calls_get_their_own_rows_and_share_the_network_calls():
    inner = _PlanesEvaluator()
    ev = CoalescingEvaluator(inner, max_positions=40)
    rng = np.random.default_rng(3)
    batches = [(rng.random((1 + i % 5, 8, 9, 9)) < 0.3).astype(np.uint8) for i in range(24)]
    reference = [_PlanesEvaluator(0.0).evaluate(b) for b in batches]

    def call(i):
        return [ev.evaluate(batches[i]) for _ in range(5)]

    out, errors = _concurrently(call, len(batches))
    assert not errors
    for i, results in enumerate(out):
        for priors, values in results:
            np.testing.assert_array_equal(priors, reference[i][0])
            np.testing.assert_array_equal(values, reference[i][1])
    assert ev.requests == 5 * len(batches)  # every caller's batch, each answered once
    assert sum(inner.sizes) == 5 * sum(len(b) for b in batches)
    assert ev.calls == len(inner.sizes) < ev.requests  # calls were merged...
    assert max(inner.sizes) <= 40  # ...never past the cap
    # a lone caller is answered by a call of its own
    ev.evaluate(batches[0])
    assert inner.sizes[-1] == len(batches[0])


def test_a_failing_coalesced_call_fails_every_caller_in_it_and_the_next_call_works():
    inner = _PlanesEvaluator(fail=True)
    ev = CoalescingEvaluator(inner)
    planes = np.zeros((2, 8, 9, 9), np.uint8)
    out, errors = _concurrently(lambda i: ev.evaluate(planes), 6)
    assert len(errors) == 6 and all("device lost" in str(e) for e in errors)
    inner.fail = False
    priors, values = ev.evaluate(planes)
    assert priors.shape == (2, 82) and values.shape == (2,)


def test_threads_merge_network_calls_on_a_gpu_or_when_asked():
    ev = _PlanesEvaluator()
    assert coalesced(ev, 4) is ev  # a CPU evaluator: each thread keeps its own calls
    assert coalesced(ev, 1, "on") is ev  # one thread has nothing to merge
    assert isinstance(coalesced(ev, 2, "on"), CoalescingEvaluator)
    ev.runs_on_gpu = True
    assert isinstance(coalesced(ev, 2), CoalescingEvaluator)
    assert coalesced(ev, 2, "off") is ev
    with pytest.raises(ValueError, match="coalescing mode"):
        coalesced(ev, 2, "sometimes")
    with pytest.raises(ValueError, match="nn_coalesce"):
        SearchConfig(nn_coalesce="sometimes")
