"""Benchmark bodies for scripts/bench.py. Each returns {figure_name: value}."""

from __future__ import annotations

import itertools
import os
import statistics
import time
from pathlib import Path

import numpy as np

from alphago import sgf
from alphago.board import Position
from alphago.kernels import board as kb


def default_sgf_source() -> Path:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "pro_games.tar.gz"
    if shared.exists():
        return shared
    return Path(__file__).resolve().parents[1] / "tests" / "data"


def _median_rate(fn, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        count = fn()
        rates.append(count / (time.perf_counter() - t0))
    return statistics.median(rates)


def bench_playouts(repeats: int, **_) -> dict:
    """Uniform random playouts on 19x19 from the empty board, one core."""
    pos = Position(19)
    kb.seed_rng(1)
    kb.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob, 5, 1083, 7.5)  # compile
    count = 1000

    def run():
        kb.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob, count, 1083, 7.5)
        return count

    return {"random_playouts_per_s": round(_median_rate(run, repeats), 1)}


def bench_sgf(repeats: int, sgf_source: str, **_) -> dict:
    """Parse and replay real games (first 500 usable games of the source)."""
    blobs = list(itertools.islice(sgf.iter_sgf_bytes(sgf_source), 600))

    def run():
        n = 0
        for name, data in blobs:
            try:
                rec = sgf.parse_sgf(name, data)
                rec.final_position()
                n += 1
            except sgf.BadGame:
                pass
            if n >= 500:
                break
        return n

    run()  # warm the kernels
    return {"sgf_games_per_s": round(_median_rate(run, repeats), 1)}


BENCHES = {
    "playouts": bench_playouts,
    "sgf": bench_sgf,
}


def run(names, repeats: int = 5, **kwargs) -> dict:
    results = {"cpu_count": os.cpu_count()}
    for name in names:
        results.update(BENCHES[name](repeats=repeats, **kwargs))
    return results
