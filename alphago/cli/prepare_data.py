"""SGF sources (files, directories, .tar.gz/.tgz/.zip archives) -> train/val position shards.

    alphago-prepare ../shared/data/pro_games.tar.gz --out shards/pro
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from alphago import dataset, sgf


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="SGF files, directories or archives")
    ap.add_argument("--out", required=True, help="output directory (train/ and val/ shards)")
    ap.add_argument("--size", type=int, default=19, help="board size to keep")
    ap.add_argument("--min-moves", type=int, default=30)
    ap.add_argument("--no-handicap", action="store_true", help="drop handicap games")
    ap.add_argument("--min-rank", type=int, default=None,
                    help="both players at least this rank (1d=1, 9d=9, 1p=10; kyu <= 0)")
    ap.add_argument("--val-fraction", type=float, default=0.02)
    ap.add_argument("--shard-size", type=int, default=250_000, help="positions per shard")
    ap.add_argument("--max-games", type=int, default=None)
    ap.add_argument("--procs", type=int, default=1,
                    help="parallel processes, each reading every PROCS-th file (duplicates "
                         "are then dropped within a process's share only)")
    args = ap.parse_args(argv)
    for s in args.sources:
        if not Path(s).exists():
            ap.error(f"no such source: {s}")
    gf = sgf.GameFilter(sizes=(args.size,), min_moves=args.min_moves,
                        allow_handicap=not args.no_handicap, min_rank=args.min_rank)
    if args.procs > 1 and args.max_games:
        ap.error("--max-games works with one process only")
    if args.procs > 1:
        summary = dataset.prepare_parallel(args.sources, args.out, gf, args.procs,
                                           args.val_fraction, args.shard_size)
    else:
        summary = dataset.prepare(args.sources, args.out, gf, args.val_fraction,
                                  args.shard_size, args.max_games)
    print(json.dumps({k: summary[k] for k in ("games", "positions", "skipped")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
