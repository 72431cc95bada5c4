"""Value MSE of one or more networks on the same positions of held-out games.

    alphago-selfplay --model data/policy_sl.pt --games 256 --greedy-after 30 \\
        --seed 9001 --first-id 9000000 --out runs/sp_test/a        # games no net trained on
    alphago-eval-value --shards runs/sp_test/a --model data/value_sp.pt \\
        --model runs/campaign/best.pt --json

Each game contributes ``--per-game`` positions (1: the paper's measure, one position a
game, drawn with ``--seed``; 0: every position), the same ones for every model; games
without a known result are left out. Both splits of each shard folder are read, or one with
``--split`` (``--split val`` on the pro shards: the held-out pro games' recorded results).

Each MSE comes with its standard error, and each model after the first with its difference
from the first, position by position on the same positions, and that difference's standard
error: the paired comparison is far tighter than two separate errors (the positions that
are hard for one net are hard for the other). The errors count a game once, however many of
its positions are drawn (positions of one game are not independent).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


SPLITS = {"both": ("train", "val"), "train": ("train",), "val": ("val",)}


def _splits(shards: list[str], feature_set: str, per_game: int, seed: int,
            which: str = "both") -> list:
    """The positions of the splits asked for that exist (the same positions whatever the
    feature set: it changes only the planes)."""
    from alphago import dataset

    out = []
    for split in SPLITS[which]:
        try:
            out.append(dataset.PositionShards(shards, split, feature_set, augment=False,
                                              per_game=per_game, seed=seed))
        except FileNotFoundError:
            continue
    return out


def _game_keys(splits: list) -> np.ndarray:
    """[positions, 2]: (split, game key), one row a position, in the order of the errors."""
    if not splits:
        return np.zeros((0, 2), np.int64)
    return np.concatenate([np.stack([np.full(len(d), i), d.game_keys()], 1)
                           for i, d in enumerate(splits)])


def compare(errors: list[np.ndarray], keys: np.ndarray) -> list[dict]:
    """Per model: value_mse and its se over the positions with a known result, and for each
    model after the first diff_vs_first (its MSE minus the first's on the same positions)
    with diff_se."""
    from alphago.ratings import mean_se_by_group

    known = ~np.isnan(errors[0])
    games = np.unique(keys[known], axis=0, return_inverse=True)[1].ravel()
    out = []
    for k, e in enumerate(errors):
        mse, se = mean_se_by_group(e[known], games)
        row = {"value_mse": round(mse, 4), "se": round(se, 4), "positions": int(known.sum()),
               "games": int(games.max()) + 1 if len(games) else 0}
        if k > 0:
            diff, dse = mean_se_by_group(e[known] - errors[0][known], games)
            row.update(diff_vs_first=round(diff, 4), diff_se=round(dse, 4))
        out.append(row)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", nargs="+", required=True, help="shard folders (train/, val/)")
    ap.add_argument("--model", action="append", required=True,
                    help="checkpoint with a value head (give several to compare)")
    ap.add_argument("--per-game", type=int, default=1, help="positions a game (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", choices=sorted(SPLITS), default="both",
                    help="which split of the shard folders (default both)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    for d in args.shards:
        if not Path(d).is_dir():
            ap.error(f"no such shard folder: {d}")
    if args.per_game < 0:
        ap.error("--per-game must be 0 (all positions) or more")

    import torch

    from alphago import checkpoint
    from alphago.train_eval import value_errors

    errors, splits = [], {}  # the shards are read once per feature set
    for path in args.model:
        try:
            model, _ = checkpoint.load_model(path)
        except checkpoint.CheckpointError as exc:
            ap.error(str(exc))
        if model.cfg.heads == "policy":
            ap.error(f"{path} has no value head")
        fs = model.cfg.feature_set
        if fs not in splits:
            splits[fs] = _splits(args.shards, fs, args.per_game, args.seed, args.split)
        errors.append(np.concatenate([value_errors(model, d, torch.device("cpu"))
                                      for d in splits[fs]] or [np.zeros(0)]))
    keys = _game_keys(next(iter(splits.values())))
    if len(keys) == 0 or np.isnan(errors[0]).all():
        ap.error("no position with a known result in those shards")
    results = dict(zip(args.model, compare(errors, keys)))
    if args.json:
        print(json.dumps({"per_game": args.per_game, "shards": args.shards, **results}))
        return 0
    first = args.model[0]
    for path, r in results.items():
        diff = (f"  {r['diff_vs_first']:+.4f} +- {r['diff_se']:.4f} against {first}"
                if "diff_vs_first" in r else "")
        print(f"{r['value_mse']:.4f} +- {r['se']:.4f}  ({r['positions']} positions, "
              f"{r['games']} games)  {path}{diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
