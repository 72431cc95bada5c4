"""Train the supervised policy network (or a value/both-head net) on position shards.

    alphago-train --shards shards/pro --run-dir runs/sl --filters 64 --depth 6
    alphago-train --shards shards/pro --run-dir runs/sl --resume  # continue
    torchrun --nproc_per_node 8 scripts/train_sl.py --shards ... --device cuda  # DDP
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from alphago.cli import on_off
from alphago.config import ModelConfig, TrainConfig, from_dict, load_overrides


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", required=True, nargs="+",
                    help="directories made by prepare_data.py or self-play (several: pooled)")
    ap.add_argument("--value-shards", nargs="+",
                    help="self-play shard folders: --value-batch of their positions join "
                         "every batch for the value head alone")
    ap.add_argument("--run-dir", required=True, help="run directory: checkpoints, log.csv, tb/")
    ap.add_argument("--config", help="TOML/JSON file with [model] and [train] tables")
    ap.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt")
    ap.add_argument("--init-from", help="start from this checkpoint's weights")
    ap.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    ap.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                    help="bf16 autocast (auto: on for CUDA)")
    ap.add_argument("--max-steps", type=int, help="stop after this many more steps")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--quiet", action="store_true")
    for f in dataclasses.fields(ModelConfig):
        ap.add_argument(f"--{f.name.replace('_', '-')}", dest=f"model_{f.name}",
                        type=_arg_type(f.type), default=None, help=f"model: {f.name}")
    for f in dataclasses.fields(TrainConfig):
        ap.add_argument(f"--{f.name.replace('_', '-')}", dest=f"train_{f.name}",
                        type=_arg_type(f.type), default=None, help=f"train: {f.name}")
    return ap


def _arg_type(t):
    name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    if name.startswith("bool"):
        return on_off
    return {"int": int, "float": float}.get(name, str)


def main(argv=None, ap: argparse.ArgumentParser | None = None, after=None) -> int:
    """Parse, train, report. ``ap``: a parser with other defaults (train_rl, train_value);
    ``after(model_path, shards, train_cfg)``: extra report once training stops."""
    ap = ap or build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    file_cfg = load_overrides(args.config) if args.config else {}
    model_kw = dict(file_cfg.get("model", {}))
    train_kw = dict(file_cfg.get("train", {}))
    for k, v in vars(args).items():
        if v is not None and k.startswith("model_"):
            model_kw[k[6:]] = v
        elif v is not None and k.startswith("train_"):
            train_kw[k[6:]] = v
    try:
        model_cfg = from_dict(ModelConfig, model_kw)
        train_cfg = from_dict(TrainConfig, train_kw)
    except (ValueError, TypeError) as exc:
        ap.error(str(exc))
    import torch

    from alphago import train

    if args.threads:
        torch.set_num_threads(args.threads)
    bf16 = None if args.bf16 == "auto" else args.bf16 == "on"
    try:
        shards = args.shards[0] if len(args.shards) == 1 else args.shards
        result = train.train(shards, args.run_dir, model_cfg, train_cfg, args.device,
                             args.resume, args.max_steps, bf16, args.init_from,
                             progress=not args.quiet, value_shards=args.value_shards)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"stopped at step {result.step}: {result.metrics}")
    if after is not None:
        after(str(Path(args.run_dir) / "last.pt"), shards, train_cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
