#!/usr/bin/env python
"""Fuzz the SGF loader with mutated and truncated records: nothing may crash or hang.

    python scripts/fuzz_sgf.py --files 100000 --seed 1

Seeds are the test records (tests/data) plus the first --real games of the SGF archive
when it is there. Every mutant goes through the loader that training uses
(``sgf.records_from_bytes``: parse, filter, replay) and then ``dataset.game_arrays``;
the run fails if a mutant is neither loaded nor skipped with a reason, if anything
raises, or if a file takes longer than the per-file time limit. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alphago import dataset, sgf  # noqa: E402
from alphago.tools import sgf_fuzz  # noqa: E402


def seeds(real: int) -> list[tuple[str, bytes]]:
    out = [(p.name, p.read_bytes()) for p in sorted((ROOT / "tests" / "data").glob("*.sgf"))]
    archive = ROOT.parent / "shared" / "data" / "pro_games.tar.gz"
    if real and archive.exists():
        out += list(itertools.islice(sgf.iter_sgf_bytes(archive), real))
    return out


def run(files: int, seed: int, real: int = 200, time_limit: float = 5.0) -> dict:
    rng = random.Random(seed)
    base = seeds(real)
    stats = sgf.SkipStats()
    loaded = arrays_ok = 0
    slowest = 0.0
    t0 = time.time()
    last = time.perf_counter()
    gf = sgf.GameFilter(sizes=tuple(range(2, 53)), min_moves=0, dedup=False)
    for rec in sgf.records_from_bytes(sgf_fuzz.fuzz(base, files, rng), gf, stats, time_limit):
        loaded += 1
        try:
            dataset.game_arrays(rec)
            arrays_ok += 1
        except sgf.BadGame as exc:
            stats.skip("arrays: " + exc.reason, rec.name)
        now = time.perf_counter()
        slowest = max(slowest, now - last)
        last = now
    counted = loaded + sum(v for k, v in stats.items() if not k.startswith("arrays: "))
    return {"files": files, "loaded": loaded, "arrays": arrays_ok,
            "skipped": dict(stats.most_common()), "accounted": counted,
            "seconds": round(time.time() - t0, 1), "slowest_loaded_file_s": round(slowest, 3),
            "time_limit_s": time_limit}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--real", type=int, default=200, help="real games used as seeds")
    ap.add_argument("--time-limit", type=float, default=5.0, help="seconds per file")
    args = ap.parse_args(argv)
    res = run(args.files, args.seed, args.real, args.time_limit)
    print(json.dumps(res, indent=1))
    return 0 if res["accounted"] == res["files"] else 1


if __name__ == "__main__":
    sys.exit(main())
