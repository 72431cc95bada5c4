"""Train the fast rollout policy (softmax over local patterns) on position shards.

    alphago-train-rollout --shards shards/pro --positions 2000000 --out data/rollout.npz
"""

from __future__ import annotations

import argparse
import json
import sys



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", required=True)
    ap.add_argument("--out", required=True, help=".npz weights file")
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from alphago import rollout_policy

    try:
        w, info = rollout_policy.train(args.shards, args.positions, args.epochs, args.lr,
                                       args.l2, args.seed, log=lambda m: print(m, file=sys.stderr))
    except FileNotFoundError as exc:
        ap.error(str(exc))
    info.update(rollout_policy.playout_speed(w))
    rollout_policy.save_weights(args.out, w, info)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
