"""Shared fixtures and an independent, from-scratch Go reference for the tests."""

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


def chains_from_scratch(colors: np.ndarray, n: int):
    """Flood-fill every chain: {frozenset(points): liberty count}. Pure Python."""
    seen, result = set(), {}
    for p in range(n * n):
        c = colors[p]
        if c == 0 or p in seen:
            continue
        stack, chain, libs = [p], set(), set()
        while stack:
            q = stack.pop()
            if q in chain:
                continue
            chain.add(q)
            r, col = divmod(q, n)
            for rr, cc in ((r - 1, col), (r + 1, col), (r, col - 1), (r, col + 1)):
                if 0 <= rr < n and 0 <= cc < n:
                    s = rr * n + cc
                    if colors[s] == c:
                        stack.append(s)
                    elif colors[s] == 0:
                        libs.add(s)
        seen |= chain
        result[frozenset(chain)] = len(libs)
    return result


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def pro_archive():
    path = SHARED_DATA / "pro_games.tar.gz"
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture
def test_data():
    return TEST_DATA


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """CI has 2 cores: one torch thread per test process avoids OpenMP oversubscription."""
    import torch

    torch.set_num_threads(1)
    yield
