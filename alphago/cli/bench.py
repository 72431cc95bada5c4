"""Benchmarks: prints figures (medians of repeated runs), never asserts on time.

    alphago-bench --json            # everything, one JSON object
    alphago-bench --only playouts   # a subset, human readable
"""

from __future__ import annotations

import argparse
import json
import sys


from alphago.tools import bench


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", nargs="*", choices=sorted(bench.BENCHES), help="benches to run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--sgf", default=str(bench.default_sgf_source()),
                        help="SGF source for the SGF and feature benches")
    parser.add_argument("--model", default=None, help="checkpoint for network benches")
    args = parser.parse_args(argv)
    results = bench.run(args.only or sorted(bench.BENCHES), repeats=args.repeats,
                        sgf_source=args.sgf, model=args.model)
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        for key, value in sorted(results.items()):
            print(f"{key:32s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
