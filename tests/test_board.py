import numpy as np
import pytest

from alphago.board import BLACK, WHITE, IllegalMove, Position
from alphago.kernels import board as kb
from conftest import chains_from_scratch


def pt(pos, vertex):
    from alphago import coords
    return coords.from_gtp(vertex, pos.size)


def test_single_capture_and_counts():
    pos = Position.from_ascii("""
        . X . . .
        X O . . .
        . X . . .
        . . . . .
        . . . . .""")
    pos.play(pt(pos, "C4"))
    assert pos.color_at(pt(pos, "B4")) == 0
    assert pos.captures(BLACK) == 1 and pos.captures(WHITE) == 0
    assert pos.to_move == WHITE


def test_multi_stone_capture_in_corner():
    pos = Position.from_ascii("""
        O O . . .
        X X . . .
        . . . . .
        . . . . .
        . . . . .""")
    assert pos.liberties(pt(pos, "A5")) == 1
    pos.play(pt(pos, "C5"))
    assert pos.color_at(pt(pos, "A5")) == 0 and pos.color_at(pt(pos, "B5")) == 0
    assert pos.captures(BLACK) == 2
    assert pos.liberties(pt(pos, "A4")) == 5  # A5 B5 A3 B3 C4
    assert pos.liberties(pt(pos, "C5")) == 3  # B5 D5 C4


def test_setup_removes_chains_without_liberties():
    pos = Position(5)
    pos.setup(black=[1, 5], white=[0])
    assert pos.color_at(0) == 0


def test_suicide_single_and_multi():
    pos = Position.from_ascii("""
        . X . . .
        X . . . .
        . . . . .
        . . . . .
        . . . . .""", to_move=WHITE)
    with pytest.raises(IllegalMove) as err:
        pos.play(0)
    assert err.value.reason == "suicide"
    pos = Position.from_ascii("""
        O . X . .
        O X . . .
        X . . . .
        . . . . .
        . . . . .""", to_move=WHITE)
    before = pos.st.copy()
    with pytest.raises(IllegalMove):
        pos.play(1)  # fills the last liberty of its own two stones
    assert np.array_equal(before, pos.st), "a refused move must not change the board"


def test_ko_forbids_immediate_retake_only():
    pos = Position.from_ascii("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .""")
    pos.play(pt(pos, "C4"))  # black takes the ko
    assert pos.color_at(pt(pos, "B4")) == 0
    assert pos.ko == pt(pos, "B4")
    with pytest.raises(IllegalMove) as err:
        pos.play(pt(pos, "B4"))
    assert err.value.reason == "ko"
    pos.play(pt(pos, "E1"))   # white threat
    pos.play(pt(pos, "D1"))   # black answers
    pos.play(pt(pos, "B4"))   # now white may retake
    assert pos.color_at(pt(pos, "C4")) == 0


def test_snapback():
    pos = Position.from_ascii("""
        . . . . .
        . . . . .
        . . . X X
        . . X O O
        . . X . .""")
    pos.play(pt(pos, "E1"))   # throw-in: the stone and the white pair are both in atari
    pos.play(pt(pos, "D1"))   # white captures one stone...
    assert pos.color_at(pt(pos, "E1")) == 0 and pos.captures(WHITE) == 1
    assert pos.liberties(pt(pos, "D1")) == 1 and pos.ko == -1
    pos.play(pt(pos, "E1"))   # ...and black takes three back at once: not a ko
    assert pos.captures(BLACK) == 3
    assert all(pos.color_at(pt(pos, v)) == 0 for v in ("D1", "D2", "E2"))


def test_superko_forbids_recreating_a_position():
    pos = Position.from_ascii("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .""")
    pos.play(pt(pos, "C4"))  # black takes the ko
    pos.play(25)  # white passes: the simple ko ban is lifted
    pos.play(25)  # black passes
    assert pos.ko == -1
    with pytest.raises(IllegalMove) as err:
        pos.play(pt(pos, "B4"))
    assert err.value.reason == "superko"
    loose = Position.from_ascii("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .""", superko=False)
    for v in ("C4", "pass", "pass", "B4"):
        loose.play(pt(loose, v))
    assert loose.color_at(pt(loose, "C4")) == 0


def test_true_eyes():
    pos = Position.from_ascii("""
        . X . X .
        X X X X X
        . X . X .
        X . X . X
        . X . X .""")
    assert pos.is_true_eye(0, BLACK)            # corner eye
    assert pos.is_true_eye(2, BLACK)            # edge eye, no opponent diagonal
    assert pos.is_true_eye(12, BLACK)           # centre
    assert not pos.is_true_eye(12, WHITE)
    false_eye = Position.from_ascii("""
        . . . . .
        . O X O .
        . X . X .
        . . X . .
        . . . . .""")
    assert not false_eye.is_true_eye(12, BLACK)  # two opponent diagonals
    edge = Position.from_ascii("""
        X . X O .
        . X . . .
        . . . . .
        . . . . .
        . . . . .""")
    assert edge.is_true_eye(1, BLACK)            # edge point, empty diagonals
    edge2 = Position.from_ascii("""
        X . X . .
        O X . . .
        . . . . .
        . . . . .
        . . . . .""")
    assert not edge2.is_true_eye(1, BLACK)       # edge point, opponent on a diagonal


def test_area_scoring():
    pos = Position.from_ascii("""
        . X O . .
        . X O . .
        X X O . .
        . X O O O
        . X O . .""", komi=0.5)
    # black: 9 stones... count by hand: stones B=7, territory A5 A4 A2 A1 = 4 -> 11
    # white: stones 8, territory D5 E5 D4 E4 D3 E3 D1 E1 = 8 -> 16
    assert pos.score() == 11 - 16 - 0.5
    assert pos.result_string() == "W+5.5"
    owner = pos.area_owner()
    assert owner[0] == BLACK and owner[3] == WHITE
    neutral = Position.from_ascii("""
        . X . O .
        . X . O .
        . X . O .
        . X . O .
        . X . O .""", komi=0)
    assert neutral.score() == 0 and neutral.area_owner()[2] == 0


def _check_against_scratch(pos):
    n = pos.size
    colors = pos.st[kb.F_COLOR].copy()
    chains = chains_from_scratch(colors, n)
    for chain, libs in chains.items():
        heads = {int(pos.st[kb.F_HEAD, p]) for p in chain}
        assert len(heads) == 1, "one head per chain"
        h = heads.pop()
        assert h in chain
        assert pos.st[kb.F_LIBS, h] == libs
        assert pos.st[kb.F_SIZE, h] == len(chain)
        ring, q = set(), h
        while True:
            ring.add(q)
            q = int(pos.st[kb.F_NEXT, q])
            if q == h:
                break
        assert ring == set(chain)
    expect_hash = 0
    for p in range(n * n):
        if colors[p]:
            expect_hash ^= int(pos.zob[colors[p], p])
    assert pos.board_hash == expect_hash
    ne = int(pos.meta[kb.M_NEMPTY])
    assert sorted(pos.st[kb.F_EMPTY, :ne].tolist()) == [p for p in range(n * n) if colors[p] == 0]


@pytest.mark.parametrize("n,seed", [(5, 1), (9, 2), (13, 3), (19, 4), (19, 5)])
def test_random_games_match_scratch_recompute(n, seed):
    rng = np.random.default_rng(seed)
    pos = Position(n)
    for _ in range(3 * n * n // 2):
        legal = np.flatnonzero(pos.legal_moves()[:-1])
        if len(legal) == 0:
            break
        pos.play(int(rng.choice(legal)))
        _check_against_scratch(pos)
        for p in range(n * n):   # the legal mask agrees with a trial move
            if pos.color_at(p) == 0 and rng.random() < 0.05:
                trial = pos.copy()
                ok = pos.is_legal(p)
                try:
                    trial.play(p)
                    assert ok
                except IllegalMove:
                    assert not ok


def test_transposed_orders_give_equal_hashes():
    a, b = Position(9), Position(9)
    for p in (10, 20, 30, 40):
        a.play(p)
    for p in (30, 40, 10, 20):
        b.play(p)
    assert a.board_hash == b.board_hash and a.key == b.key
    c = Position(9)
    for p in (10, 20, 30, 41):
        c.play(p)
    assert c.board_hash != a.board_hash


def test_undo_restores_everything():
    rng = np.random.default_rng(7)
    pos = Position(9)
    states = []
    for _ in range(60):
        states.append((pos.st.copy(), pos.meta.copy()))
        legal = np.flatnonzero(pos.legal_moves()[:-1])
        pos.play(int(rng.choice(legal)))
    for st, meta in reversed(states):
        pos.undo()
        assert np.array_equal(pos.st, st) and np.array_equal(pos.meta[: kb.M_NHIST], meta[: kb.M_NHIST])
    with pytest.raises(IndexError):
        pos.undo()


def test_random_playout_ends_scored_and_legal():
    pos = Position(19)
    kb.seed_rng(3)
    st, meta = pos.st.copy(), pos.meta.copy()
    moves = kb.random_playout(st, meta, np.empty(0, np.int64), pos.nbr, pos.diag, pos.zob, 1000)
    assert meta[kb.M_PASSES] >= 2 and 300 < moves < 1000
    colors = st[kb.F_COLOR]
    chains = chains_from_scratch(colors, 19)
    assert all(libs > 0 for libs in chains.values())
    # at the end every empty point is a one-point eye of one colour
    end = Position(19)
    end.setup(np.flatnonzero(colors == 1), np.flatnonzero(colors == 2))
    _check_against_scratch(end)  # rebuild() from colours agrees with the reference
    assert np.array_equal(end.st[kb.F_COLOR], colors)
    assert (end.area_owner() != 0).sum() >= 340


def test_string_round_trip():
    text = "X.O..\n.....\n..X..\n.....\nO...X"
    pos = Position.from_ascii(text)
    assert pos.to_ascii() == text
    assert "A B C D E" in str(pos)
    with pytest.raises(ValueError):
        Position.from_ascii("X.\n...")
    with pytest.raises(ValueError):
        Position(3)


def test_sensible_moves_are_the_legal_moves_minus_own_true_eyes():
    rng = np.random.default_rng(11)
    for size in (7, 13):
        pos = Position(size)
        for _ in range(2 * size * size):
            legal = pos.legal_moves()
            sensible = pos.sensible_moves()
            for p in range(size * size):
                expect = legal[p] and not pos.is_true_eye(p, pos.to_move)
                assert sensible[p] == expect
            assert sensible[-1] == 1  # pass
            moves = np.flatnonzero(sensible[:-1])
            if not len(moves):
                break
            pos.play(int(rng.choice(moves)))


def test_the_c_reference_plays_the_same_game_as_the_kernel(tmp_path):
    """The bench's C light playout (tools/ref_playout.c) follows the same rules and
    algorithm as board.random_playout: over many games from the empty board the two agree
    on the mean game length and black's win rate."""
    from alphago.kernels import rollout as kr
    from alphago.tools import c_reference

    try:
        ref = c_reference.CPlayouts(c_reference.build(tmp_path), size=9, komi=7.5)
    except c_reference.CReferenceUnavailable as exc:
        pytest.skip(str(exc))
    games = 3000
    ref.run(games)
    pos = Position(9)
    kb.seed_rng(7)
    wins, moves = kr.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob,
                                   np.zeros(0, np.float32), games, 3 * 81, 7.5)
    assert abs(ref.moves / games - moves / games) < 0.03 * moves / games
    assert abs(ref.wins / games - wins / games) < 0.05
    with pytest.raises(ValueError):
        c_reference.CPlayouts(c_reference.build(tmp_path), size=30).run(1)


def test_borrowed_view_reads_and_writes_the_array_it_borrows():
    """A borrowed view (no reference count) sees the same data, shape and strides as its
    array, also for a strided slice, and writes through it land in the array."""
    from numba import njit

    from alphago.kernels.borrow import borrowed

    @njit
    def through_view(a):
        v = borrowed(a)
        total = 0
        for i in range(v.shape[0]):
            for j in range(v.shape[1]):
                total += v[i, j]
                v[i, j] += 1
        return total, v.shape[0], v.shape[1]

    base = np.arange(24, dtype=np.int32).reshape(4, 6)
    strided = base[:, ::2]
    expected = int(strided.sum())
    total, rows, cols = through_view(strided)
    assert (total, rows, cols) == (expected, 4, 3)
    assert (base[:, ::2] == np.arange(24).reshape(4, 6)[:, ::2] + 1).all()
    assert (base[:, 1::2] == np.arange(24).reshape(4, 6)[:, 1::2]).all()
