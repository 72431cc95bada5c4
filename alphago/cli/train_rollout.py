"""Train the fast rollout policy (softmax over local patterns) on position shards.

    alphago-train-rollout --shards shards/pro --positions 2000000 --out data/rollout.npz

Supervised (the default): the played moves of ``--shards``. Balanced (``--balance``):
simulation balancing, a policy gradient that moves the weights of ``--start`` so that the
search's leaf value, (1 - lambda) v + lambda z with v the value network's estimate and z a
rollout's result, predicts the results of self-play games:

    alphago-train-rollout --balance --start data/rollout.npz --value-model data/dual.pt \\
        --games runs/exit19n/games/gen_0001/task_0{00..19} \\
        --val-games runs/exit19n/games/gen_0001/task_0{20..23} --out runs/rollout_bal.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help=".npz weights file")
    ap.add_argument("--shards", help="supervised: shard folder of played moves")
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=None,
                    help="passes over the positions (default 2 supervised, 3 balanced)")
    ap.add_argument("--lr", type=float, default=None,
                    help="step size (default 0.05 supervised, 0.003 balanced)")
    ap.add_argument("--l2", type=float, default=None, help="weight decay (supervised, "
                    "default 1e-4) or pull toward --start (balanced, default 0)")
    ap.add_argument("--seed", type=int, default=0)
    bal = ap.add_argument_group("simulation balancing")
    bal.add_argument("--balance", action="store_true")
    bal.add_argument("--start", help="rollout weights to start from (.npz)")
    bal.add_argument("--value-model", help="network whose value head the leaves mix with")
    bal.add_argument("--games", nargs="+", help="shard folders of self-play games")
    bal.add_argument("--val-games", nargs="+", help="shard folders of held-out games")
    bal.add_argument("--rollouts", type=int, default=8, help="rollouts a position (>= 2)")
    bal.add_argument("--lambda", dest="lam", type=float, default=0.5,
                     help="the search's mixing weight of the rollout (default 0.5)")
    bal.add_argument("--per-game", type=int, default=0, help="positions a game (0: all)")
    bal.add_argument("--komi", type=float, default=7.5)
    bal.add_argument("--no-symmetries", dest="symmetries", action="store_false",
                     help="train on the positions as stored (default: each epoch turns "
                          "each position by a random board symmetry)")
    args = ap.parse_args(argv)
    if args.balance:
        for name in ("start", "value_model", "games", "val_games"):
            if not getattr(args, name):
                ap.error(f"--balance needs --{name.replace('_', '-')}")
        for d in [*args.games, *args.val_games]:
            if not Path(d).is_dir():
                ap.error(f"no such shard folder: {d}")
        if args.rollouts < 2:
            ap.error("--rollouts must be at least 2")
        if not 0.0 < args.lam <= 1.0:
            ap.error("--lambda must be within (0, 1]")
    elif not args.shards:
        ap.error("give --shards (supervised) or --balance")
    if args.per_game < 0:
        ap.error("--per-game must be 0 (all positions) or more")
    return ap, args


def main(argv=None) -> int:
    ap, args = _args(argv)
    from alphago import rollout_policy

    def log(m):
        print(m, file=sys.stderr, flush=True)

    # the mode's own defaults (rollout_policy.balance or .train) unless given
    given = {k: getattr(args, k) for k in ("epochs", "lr", "l2") if getattr(args, k) is not None}
    try:
        if args.balance:
            start, _ = rollout_policy.load_weights(args.start)
            w, info = rollout_policy.balance(
                start, args.value_model, args.games, args.val_games, lam=args.lam,
                rollouts=args.rollouts, per_game=args.per_game, komi=args.komi,
                seed=args.seed, symmetries=args.symmetries, log=log, **given)
            info["start"] = args.start
        else:
            w, info = rollout_policy.train(args.shards, args.positions, seed=args.seed, log=log,
                                           **given)
    except (FileNotFoundError, ValueError) as exc:
        ap.error(str(exc))
    info.update(rollout_policy.playout_speed(w))
    rollout_policy.save_weights(args.out, w, info)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
