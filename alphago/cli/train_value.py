"""Value network: regression of self-play outcomes, one position sampled per game.

    alphago-train-value --shards runs/rl/games/gen_0001/task_000 ... \\
        --run-dir runs/value --filters 64 --depth 6 --total-steps 5000
    alphago-train-value --shards $(ls -d runs/rl/games/gen_*/task_*) --run-dir ...

Sampling one position per game (``--positions-per-game``, default 1) is the paper's fix
for the overfitting that whole games cause (successive positions are strongly correlated
and share one outcome); with few games, a handful per game is a compromise. Prints the
final train and test MSE (each over one position per game); the paper reached
0.226 / 0.234. The search uses the result through ``gtp_server.py --value-model PATH``
(beside the policy net; ``data/value_sp.pt`` is the shipped one). Every train_sl.py flag
applies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


from alphago.cli.train_sl import build_parser, main as train_main


def report(model_path, shards, train_cfg) -> None:
    from alphago import checkpoint, dataset, train

    best = Path(model_path).with_name("best.pt")  # lowest validation MSE, when kept
    model, _ = checkpoint.load_model(best if best.exists() else model_path)
    device = train.pick_device("auto")
    model.to(device)
    out = {"checkpoint": str(best if best.exists() else model_path)}
    splits = dataset.existing_splits(shards, ("train", "val"), model.cfg.feature_set,
                                     per_game=1, seed=train_cfg.seed + 1)
    for split, data in splits.items():
        res = train.evaluate(model, data, device, len(data))
        out[f"{split}_mse"] = round(res.get("value_mse", float("nan")), 4)
        out[f"{split}_games"] = len(data)
    print(json.dumps({"value": out}))


def main(argv=None) -> int:
    ap = build_parser()
    ap.description = __doc__.splitlines()[0]
    ap.set_defaults(model_heads="value", train_positions_per_game=1)
    return train_main(argv, ap, after=report)


if __name__ == "__main__":
    sys.exit(main())
