"""Policy accuracy on SGF games: every main-line move of every usable game is a position.

    alphago-eval --sgf ../shared/data/pro_games.tar.gz --max-positions 20000 --json
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
    ap.add_argument("--max-positions", type=int, default=None)
    ap.add_argument("--symmetries", type=int, choices=[1, 8], default=1,
                    help="8: average the policy over all symmetries (the paper's ensemble)")
    ap.add_argument("--split", choices=["all", "val", "train"], default="all",
                    help="only games of this split (by the prepare_data hash rule)")
    ap.add_argument("--val-fraction", type=float, default=0.02)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--device", default="cpu",
                    help="cpu, cuda, or an inference backend: onnx, onnx-int8")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not Path(args.sgf).exists():
        ap.error(f"no such SGF source: {args.sgf}")
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
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:12s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
