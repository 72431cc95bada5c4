import numpy as np
import pytest

from alphago import coords, features
from alphago.board import BLACK, WHITE, Position


def planes(pos, fs="alphago"):
    return features.position_planes(pos, fs)


def at(pos, vertex):
    r, c = divmod(coords.from_gtp(vertex, pos.size), pos.size)
    return r, c


def test_basic_planes_hand_computed():
    pos = Position.from_ascii("""
        . . . . .
        . X O . .
        . O . . .
        . . . . .
        . . . . .""")
    pos.play(coords.from_gtp("D2", 5))  # black; white to move
    pl = planes(pos, "basic")
    assert pl.shape == (16, 5, 5)
    r, c = at(pos, "C4")
    assert pl[0, r, c] == 1 and pl[1, r, c] == 0  # white's own stone
    r, c = at(pos, "B4")
    assert pl[1, r, c] == 1 and pl[11 + 1, r, c] == 1  # opponent stone with 2 liberties
    r, c = at(pos, "D2")
    assert pl[4, r, c] == 1  # the last move
    assert pl[3].sum() == 25
    assert pl[0].sum() == 2 and pl[1].sum() == 2 and pl[2].sum() == 21
    # black B4 has 2 liberties (A4, B5): white can atari it but capture nothing yet
    assert pl[15].sum() == 0
    assert pl[14].sum() == 21  # every empty point is legal and sensible for white


CORNER = """
        . X O . .
        X O . . .
        . X . . .
        . . . . .
        . . . . ."""


def test_liberties_capture_and_self_atari_planes_black():
    pos = Position.from_ascii(CORNER, to_move=BLACK)
    pl = planes(pos)
    for v, libs in (("B4", 1), ("C5", 2), ("B5", 1), ("A4", 2), ("B3", 3)):
        r, c = at(pos, v)
        assert pl[12 + libs - 1, r, c] == 1 and pl[12:20, r, c].sum() == 1, v
    r, c = at(pos, "C4")  # captures B4; then C4 has B4 D4 C3
    assert pl[20 + 1, r, c] == 1 and pl[20:28, r, c].sum() == 1
    assert pl[36 + 3 - 1, r, c] == 1 and pl[28:36, r, c].sum() == 0
    r, c = at(pos, "A5")  # joins A4 and B5: three stones left with one liberty (A3)
    assert pl[28 + 3 - 1, r, c] == 1 and pl[36, r, c] == 1
    assert pl[46, r, c] == 1  # A5 is a false eye (opponent diagonal on the edge)
    r, c = at(pos, "E1")
    assert pl[20, r, c] == 1 and pl[36 + 1, r, c] == 1  # captures nothing, 2 liberties


def test_liberties_capture_and_self_atari_planes_white():
    pos = Position.from_ascii(CORNER, to_move=WHITE)
    pl = planes(pos)
    r, c = at(pos, "A5")  # captures B5, then has one liberty (B5): self-atari of one stone
    assert pl[20 + 1, r, c] == 1
    assert pl[28, r, c] == 1 and pl[36, r, c] == 1
    r, c = at(pos, "C4")  # joins B4 and C5: liberties D5 D4 C3
    assert pl[36 + 3 - 1, r, c] == 1 and pl[28:36, r, c].sum() == 0


def test_exact_liberties_after_move():
    pos = Position.from_ascii("""
        . . . . . . .
        . . . . . . .
        . . X . X . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .""")
    pl = planes(pos)
    r, c = at(pos, "D4")  # a lone stone in the open
    assert pl[36 + 4 - 1, r, c] == 1
    r, c = at(pos, "D5")  # joins C5 and E5: C6 C4 B5 D6 D4 E6 E4 F5
    assert pl[36 + 8 - 1, r, c] == 1


def test_illegal_points_have_no_move_planes():
    pos = Position.from_ascii("""
        . O . . .
        O . . . .
        . . . . .
        . . . . .
        . . . . .""", to_move=BLACK)
    pl = planes(pos)
    r, c = at(pos, "A5")  # suicide for black
    assert pl[20:47, r, c].sum() == 0
    r, c = at(pos, "B4")  # libs C4, B3 after the move
    assert pl[36 + 1, r, c] == 1


def _ladder(breaker=None, to_move=BLACK, atari=False):
    rows = [list(". . . . . . . . .".split()) for _ in range(9)]

    def put(vertex, ch):
        r, c = divmod(coords.from_gtp(vertex, 9), 9)
        rows[r][c] = ch

    put("D3", "O")
    for v in ("C3", "D2", "E2"):
        put(v, "X")
    if atari:
        put("D4", "X")
    if breaker:
        put(breaker, "O")
    return Position.from_ascii("\n".join(" ".join(r) for r in rows), to_move=to_move)


def test_ladder_capture_both_ways():
    works = planes(_ladder())
    r, c = at(_ladder(), "D4")
    assert works[44, r, c] == 1  # the runner goes up-right to the edge and dies
    r2, c2 = at(_ladder(), "E3")
    assert works[44, r2, c2] == 0  # atari from this side lets white out through D4
    broken = planes(_ladder(breaker="G6"))
    assert broken[44, r, c] == 0  # a white stone on the ladder's path
    far = planes(_ladder(breaker="B8"))
    assert far[44, r, c] == 1  # a stone off the path changes nothing


def test_ladder_escape_both_ways():
    pos = _ladder(to_move=WHITE, atari=True)
    r, c = at(pos, "E3")
    assert planes(pos)[45, r, c] == 0  # running into a working ladder is no escape
    helped = _ladder(breaker="G6", to_move=WHITE, atari=True)
    assert planes(helped)[45, r, c] == 1


def test_sensibleness_excludes_own_eyes():
    pos = Position.from_ascii("""
        . X . . .
        X X . . .
        . . . . .
        . . . . .
        . . . . .""")
    pl = planes(pos)
    assert pl[46, 0, 0] == 0 and pl[46, 0, 2] == 1
    assert pl[47].sum() == 0 and pl[3].sum() == 25


def test_value_set_adds_colour_plane():
    pos = Position(9)
    assert planes(pos, "alphago_value").shape == (49, 9, 9)
    assert planes(pos, "alphago_value")[48].all()
    pos.play(40)
    assert not planes(pos, "alphago_value")[48].any()


@pytest.mark.parametrize("fs", ["basic", "alphago"])
def test_symmetry_commutes_with_features(fs):
    from alphago import symmetry

    rng = np.random.default_rng(1)
    pos = Position(9)
    for _ in range(30):
        legal = np.flatnonzero(pos.legal_moves()[:-1])
        pos.play(int(rng.choice(legal)))
    base = planes(pos, fs)
    for s in range(8):
        assert np.array_equal(features.position_planes(pos, fs, s),
                              symmetry.apply_planes(base, s))


def test_unknown_feature_set():
    with pytest.raises(ValueError):
        features.get_feature_set("nope")


@pytest.mark.parametrize("size", [9, 19])
def test_basic_sensible_and_capture_planes_match_the_board_kernels(size):
    """Planes 14/15 come from one fused pass; check them point by point against the
    board's own legality (legal_basic) and true-eye tests, on random games with
    captures and kos."""
    from alphago.board import geometry
    from alphago.kernels import board as kb

    rng = np.random.default_rng(size)
    nbr, diag = geometry(size)
    checked = 0
    for game in range(6):
        pos = Position(size)
        for _ in range(int(rng.integers(10, 3 * size * size))):
            legal = np.flatnonzero(pos.legal_moves()[:-1])
            if not len(legal):
                break
            pos.play(int(rng.choice(legal)))
        pl = planes(pos, "basic").reshape(16, -1)
        me = int(pos.meta[kb.M_TOMOVE])
        for p in range(size * size):
            ok = kb.legal_basic(pos.st, pos.meta, nbr, p, me) == kb.OK
            sensible = ok and not kb.is_true_eye(pos.st, nbr, diag, p, me)
            captures = sensible and any(
                r >= 0 and pos.st[kb.F_COLOR, r] == 3 - me
                and pos.st[kb.F_LIBS, pos.st[kb.F_HEAD, r]] == 1 for r in nbr[p])
            assert pl[14, p] == sensible and pl[15, p] == captures, (game, p)
            checked += 1
    assert checked == 6 * size * size


def _seeded_positions(n: int, seed: int, moves: int, every: int) -> list[Position]:
    """Positions along a seeded random game (captures, ko and passes included)."""
    rng = np.random.default_rng(seed)
    pos, out = Position(n, superko=True), []
    for i in range(moves):
        legal = np.flatnonzero(pos.legal_moves())
        pos.play(int(rng.choice(legal)))
        if pos.passes >= 2:
            break
        if i % every == 0:
            out.append(pos.copy())
    return out


@pytest.mark.parametrize("fs_name", sorted(features.FEATURE_SETS))
def test_search_planes_equal_position_planes_under_every_symmetry(fs_name):
    """The planes the search builds from its kernel states (``state_planes``, the
    ``fill_planes_*`` kernels) are the planes ``position_planes`` gives the same positions."""
    fs = features.get_feature_set(fs_name)
    for n, seed in ((9, 1), (19, 2)):
        positions = _seeded_positions(n, seed, moves=3 * n * n // 2, every=7)
        assert len(positions) >= 10 and any(p.captures(BLACK) + p.captures(WHITE) for p in positions)
        sts = np.stack([p.st for p in positions])
        metas = np.stack([p.meta for p in positions])
        lasts = np.stack([features.last_moves(p).astype(np.int32) for p in positions])
        for sym in range(8):
            got = features.state_planes(sts, metas, lasts, np.full(len(positions), sym), n, fs)
            want = np.stack([features.position_planes(p, fs, sym) for p in positions])
            assert np.array_equal(got, want), (fs_name, n, sym)
