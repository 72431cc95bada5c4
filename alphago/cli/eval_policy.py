"""Policy accuracy on SGF games: every main-line move of every usable game is a position.

    alphago-eval --sgf ../shared/data/pro_games.tar.gz --max-positions 20000 --json

With ``--visits N``: the search of expert iteration's self-play player (value head, no
rollouts) on every ``--stride``-th position, its choice and its policy targets (raw and
pruned visit shares) against the recorded moves and against its own prior.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from alphago import shipped


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sgf", required=True, help="SGF file, directory or archive")
    ap.add_argument("--model", default=str(shipped.default_model()),
                    help="checkpoint (default: the engine's default net)")
    ap.add_argument("--max-positions", type=int, default=None,
                    help="at most this many positions (all; with --visits: 1000)")
    ap.add_argument("--symmetries", type=int, choices=[1, 8], default=1,
                    help="8: average the policy over all symmetries (the paper's ensemble)")
    ap.add_argument("--split", choices=["all", "val", "train"], default="all",
                    help="only games of this split (by the prepare_data hash rule)")
    ap.add_argument("--val-fraction", type=float, default=0.02)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--device", default="cpu",
                    help="cpu, cuda, or an inference backend: onnx, onnx-int8")
    ap.add_argument("--visits", type=int, default=0,
                    help="search each position with N visits (self-play's player) and "
                         "score its choice and targets; 0: the policy alone")
    ap.add_argument("--stride", type=int, default=10,
                    help="with --visits: every K-th position of a game (10)")
    ap.add_argument("--noise", type=float, default=0.0,
                    help="with --visits: root Dirichlet noise weight (self-play: 0.25)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not Path(args.sgf).exists():
        ap.error(f"no such SGF source: {args.sgf}")
    if args.visits < 0 or args.stride < 1 or not 0.0 <= args.noise <= 1.0:
        ap.error("--visits must be >= 0, --stride >= 1 and --noise within 0..1")
    if args.visits > 0:
        return _search_eval(ap, args)
    from alphago import checkpoint
    from alphago.policy_eval import evaluate_policy

    try:
        if args.device.startswith("onnx"):
            from alphago.evaluator import make_evaluator

            import torch

            model = make_evaluator(args.model, args.device, threads=torch.get_num_threads())
            device = "cpu"
        else:
            model, _ = checkpoint.load_model(args.model, args.device)
            device = args.device
    except checkpoint.CheckpointError as exc:
        ap.error(str(exc))
    res = evaluate_policy(model, args.sgf, args.max_positions, args.symmetries, args.split,
                          args.val_fraction, args.batch_size, device)
    return _report(res, args.json)


def _report(res: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(res))
    else:
        width = max(map(len, res))
        for k, v in res.items():
            print(f"{k:{width}s} {v}")
    return 0


def _search_eval(ap, args) -> int:
    from alphago import checkpoint
    from alphago.evaluator import make_evaluator
    from alphago.policy_eval import evaluate_search
    from alphago.selfplay import SearchSelfPlayConfig, search_player

    try:
        ev = make_evaluator(args.model, args.device)
    except (checkpoint.CheckpointError, ValueError) as exc:
        ap.error(str(exc))
    player = search_player(ev, SearchSelfPlayConfig(visits=args.visits), seed=0)
    res = evaluate_search(player, args.sgf, args.max_positions or 1000, args.split,
                          args.val_fraction, args.stride, args.noise, player.cfg.c_puct)
    res["visits"] = args.visits
    return _report(res, args.json)


if __name__ == "__main__":
    sys.exit(main())
