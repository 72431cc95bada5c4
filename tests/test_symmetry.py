import numpy as np
import pytest

from alphago import symmetry


@pytest.mark.parametrize("n", [5, 9, 19])
def test_planes_and_points_agree(n):
    rng = np.random.default_rng(n)
    planes = rng.integers(0, 5, size=(3, n, n))
    pm = symmetry.point_map(n)
    for s in range(8):
        out = symmetry.apply_planes(planes, s)
        flat_in, flat_out = planes.reshape(3, -1), out.reshape(3, -1)
        assert np.array_equal(flat_out[:, pm[s, :-1]], flat_in)


@pytest.mark.parametrize("n", [5, 19])
def test_inverse_round_trip(n):
    rng = np.random.default_rng(0)
    planes = rng.random((2, n, n))
    policy = rng.random((4, n * n + 1))
    seen = set()
    for s in range(8):
        t = symmetry.inverse(s)
        assert np.array_equal(symmetry.apply_planes(symmetry.apply_planes(planes, s), t), planes)
        back = symmetry.apply_policy(symmetry.apply_policy(policy, s, n), t, n)
        assert np.array_equal(back, policy)
        seen.add(symmetry.apply_planes(planes, s).tobytes())
    assert len(seen) == 8  # all eight are distinct on a random board
    assert symmetry.point_map(n)[3, n * n] == n * n
