import pytest

from alphago import coords


@pytest.mark.parametrize("n", [5, 9, 13, 19])
def test_round_trips(n):
    for p in range(n * n + 1):
        assert coords.from_gtp(coords.to_gtp(p, n), n) == p
        assert coords.from_sgf(coords.to_sgf(p, n), n) == p
        assert coords.from_rowcol_sgfmill(coords.to_rowcol_sgfmill(p, n), n) == p


def test_known_values():
    assert coords.to_gtp(0, 19) == "A19"
    assert coords.to_gtp(18 * 19 + 18, 19) == "T1"
    assert coords.from_gtp("q16", 19) == 3 * 19 + 15
    assert coords.from_gtp("J1", 9) == 8 * 9 + 8
    assert coords.to_sgf(3 * 19 + 15, 19) == "pd"
    assert coords.from_sgf("tt", 19) == 361
    assert coords.from_sgf("", 19) == 361
    assert coords.from_gtp("PASS", 19) == 361


@pytest.mark.parametrize("bad", ["I5", "Z1", "A0", "A20", "", "5A", "AA", "pass1", "A-1"])
def test_bad_vertices_raise(bad):
    with pytest.raises(coords.CoordError):
        coords.from_gtp(bad, 19)


def test_bad_sgf_points_raise():
    for bad in ["A1", "zz", "a", "abc"]:
        with pytest.raises(coords.CoordError):
            coords.from_sgf(bad, 19)
