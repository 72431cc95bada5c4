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

``--by-ply 0,50,100,150,200,250,300`` also splits every figure by move number (a bucket
from each edge to the next, the last one open): how far into its games a net can tell the
winner. On its own policy self-play a pro-trained 6x64 net is at the MSE of a constant 0
until about move 150, while on pro games it is well below it from move 100 (*Self-play and
reinforcement learning* in docs/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


SPLITS = {"both": ("train", "val"), "train": ("train",), "val": ("val",)}


def _splits(shards: list[str], feature_set: str, per_game: int, seed: int,
            which: str = "both", plies: bool = False) -> list:
    """The positions of the splits asked for that exist (the same positions whatever the
    feature set: it changes only the planes); with ``plies``, each with its move number."""
    from alphago import dataset

    return list(dataset.existing_splits(shards, SPLITS[which], feature_set,
                                        per_game=per_game, seed=seed, plies=plies).values())


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


def ply_edges(text: str) -> list[int]:
    """``--by-ply``'s bucket edges: ascending move numbers from 0, comma-separated."""
    try:
        edges = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of move numbers: {text!r}") from None
    if not edges or edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise argparse.ArgumentTypeError(
            f"the edges must rise from 0, e.g. 0,50,100: {text!r}")
    return edges


def by_ply(errors: list[np.ndarray], keys: np.ndarray, plies: np.ndarray,
           edges: list[int]) -> list[list[dict]]:
    """``compare`` within each move-number bucket [edge, next edge) (the last one open),
    per model: a list of rows, each with its bucket's ``plies`` ("0-49", "300+"); a bucket
    with no position of known result gets ``positions`` 0 and nothing else."""
    out: list[list[dict]] = [[] for _ in errors]
    for lo, hi in zip(edges, edges[1:] + [None]):
        name = f"{lo}-{hi - 1}" if hi is not None else f"{lo}+"
        inside = (plies >= lo) & (plies < hi if hi is not None else True)
        if not (inside & ~np.isnan(errors[0])).any():
            for rows in out:
                rows.append({"plies": name, "positions": 0})
            continue
        for rows, row in zip(out, compare([e[inside] for e in errors], keys[inside])):
            rows.append({"plies": name, **row})
    return out


def _print(results: dict, first: str) -> None:
    for path, r in results.items():
        diff = (f"  {r['diff_vs_first']:+.4f} +- {r['diff_se']:.4f} against {first}"
                if "diff_vs_first" in r else "")
        print(f"{r['value_mse']:.4f} +- {r['se']:.4f}  ({r['positions']} positions, "
              f"{r['games']} games)  {path}{diff}")
        for b in r.get("by_ply", []):
            if not b["positions"]:
                print(f"    moves {b['plies']:>9}: no position")
                continue
            diff = (f"  {b['diff_vs_first']:+.4f} +- {b['diff_se']:.4f}"
                    if "diff_vs_first" in b else "")
            print(f"    moves {b['plies']:>9}: {b['value_mse']:.4f} +- {b['se']:.4f} "
                  f"({b['positions']} positions){diff}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", nargs="+", required=True, help="shard folders (train/, val/)")
    ap.add_argument("--model", action="append", required=True,
                    help="checkpoint with a value head (give several to compare)")
    ap.add_argument("--per-game", type=int, default=1, help="positions a game (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", choices=sorted(SPLITS), default="both",
                    help="which split of the shard folders (default both)")
    ap.add_argument("--by-ply", type=ply_edges, default=None, metavar="EDGES",
                    help="also split the figures by move number: ascending bucket edges "
                         "from 0, e.g. 0,50,100,150,200,250,300 (the last bucket open)")
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
            splits[fs] = _splits(args.shards, fs, args.per_game, args.seed, args.split,
                                 args.by_ply is not None)
        errors.append(np.concatenate([value_errors(model, d, torch.device("cpu"))
                                      for d in splits[fs]] or [np.zeros(0)]))
    used = next(iter(splits.values()))
    keys = _game_keys(used)
    if len(keys) == 0 or np.isnan(errors[0]).all():
        ap.error("no position with a known result in those shards")
    rows = compare(errors, keys)
    if args.by_ply:
        plies = np.concatenate([d.data["ply"] for d in used])
        for r, buckets in zip(rows, by_ply(errors, keys, plies, args.by_ply)):
            r["by_ply"] = buckets
    results = dict(zip(args.model, rows))
    if args.json:
        print(json.dumps({"per_game": args.per_game, "shards": args.shards, **results}))
        return 0
    _print(results, args.model[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
