"""Average the weights of several nets of one architecture into one model file.

    alphago-average data/dual.pt runs/candidate.pt --out runs/soup.pt
    alphago-average A.pt B.pt --shares 0.7 0.3 --out runs/soup.pt

Nets of one training run (a net and the same net trained further, or a decay branch of it)
lie in one basin of the loss, and the average of their weights often predicts better than
either (a "model soup"); nets of unrelated runs do not average. Check the result with
``alphago-eval`` and ``alphago-eval-value`` before using it.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="model files (two or more, one architecture)")
    ap.add_argument("--shares", type=float, nargs="+",
                    help="each net's share of the average (positive, summing to 1; "
                         "default: equal)")
    ap.add_argument("--out", required=True, help="the averaged model file")
    args = ap.parse_args(argv)
    from alphago import checkpoint

    try:
        net, shares = checkpoint.average(args.models, args.shares)
    except (ValueError, checkpoint.CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    checkpoint.save(args.out, net, None, 0,
                    {"averaged": [{"model": m, "share": s} for m, s in zip(args.models, shares)]})
    print(json.dumps({"model": args.out, "from": args.models, "shares": shares}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
