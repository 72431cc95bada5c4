"""Value MSE of one or more networks on the same positions of held-out games.

    alphago-selfplay --model data/policy_sl.pt --games 256 --greedy-after 30 \\
        --seed 9001 --first-id 9000000 --out runs/sp_test/a        # games no net trained on
    alphago-eval-value --shards runs/sp_test/a --model data/value_sp.pt \\
        --model runs/campaign/best.pt --json

Each game contributes ``--per-game`` positions (1: the paper's measure, one position a
game, drawn with ``--seed``; 0: every position), the same ones for every model; games
without a known result are left out. Both splits of each shard folder are read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", nargs="+", required=True, help="shard folders (train/, val/)")
    ap.add_argument("--model", action="append", required=True,
                    help="checkpoint with a value head (give several to compare)")
    ap.add_argument("--per-game", type=int, default=1, help="positions a game (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    for d in args.shards:
        if not Path(d).is_dir():
            ap.error(f"no such shard folder: {d}")
    import torch

    from alphago import checkpoint, dataset, train

    results = {}
    for path in args.model:
        try:
            model, _ = checkpoint.load_model(path)
        except checkpoint.CheckpointError as exc:
            ap.error(str(exc))
        if model.cfg.heads == "policy":
            ap.error(f"{path} has no value head")
        total, count = 0.0, 0
        for split in ("train", "val"):
            try:
                data = dataset.PositionShards(args.shards, split, model.cfg.feature_set,
                                              augment=False, per_game=args.per_game,
                                              seed=args.seed)
            except FileNotFoundError:
                continue
            known = int((data.data["outcome"] != 0).sum())
            res = train.evaluate(model, data, torch.device("cpu"), len(data))
            if known:
                total += res["value_mse"] * known
                count += known
        results[path] = {"value_mse": round(total / count, 4) if count else None,
                         "positions": count}
    if args.json:
        print(json.dumps({"per_game": args.per_game, "shards": args.shards, **results}))
    else:
        for path, r in results.items():
            print(f"{r['value_mse']}  ({r['positions']} positions)  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
