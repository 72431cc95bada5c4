"""The training campaign: turns idle CPU (or GPU) time into a stronger dual-head network.

    alphago-campaign --hours 2.5          # niced; continue where the last run stopped
    kill -STOP PID / kill -CONT PID                  # pause for a benchmark, then go on
    alphago-campaign --status              # where it stands, no training

One command, resumable machine after machine. It rebuilds the position shards from the
SGF archive when they are missing, continues from the newest of its run directory's
``last.pt`` and the committed state file (``data/campaign/state.pt``: weights, optimizer,
weight average and step, a few MB), trains with a warmup-stable-decay schedule (a stable
learning rate can be continued indefinitely; the decay is a separate, final step) and an
exponential moving average of the weights, evaluates held-out top-1 and value MSE every
``--eval-every`` steps (``RUN_DIR/log.csv``, TensorBoard under ``RUN_DIR/tb``), checkpoints
every ``--checkpoint-every`` steps atomically (a SIGKILL loses at most that much) and on
SIGINT/SIGTERM, and copies its state to the state file when it stops. Time stopped with
SIGSTOP does not count against ``--hours``. A resumed campaign keeps the training recipe
stored in its state (learning rate, batch, value rows, ...) unless a flag changes it; a new
``--batch-size`` without ``--lr`` scales the stored rate with the batch.

The first run grows a dual net (policy and value heads on one trunk) from the shipped
policy net (``--init-from``: its trunk and policy head; the value head starts fresh) and
continues that net's data order (``--data-offset``) so that it reads positions the policy
has not seen. ``RUN_DIR/best.pt`` is the better of the trained and averaged weights by
held-out top-1; ``--decay STEPS`` makes a candidate on a branch.

A small, fast net can learn from a larger one's predictions (distillation): ``--kl-anchor
BIG.pt --kl-weight W`` adds W x KL(BIG's policy || the trained policy) on every pro position
to the loss; the teacher is part of the recipe a resumed campaign keeps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from alphago.config import TrainConfig
from alphago import shipped
from alphago.cli import on_off
from alphago.shipped import project_root, shared_data

ROOT = project_root()

# The campaign's settings: SGD at a stable rate, weights averaged over ~1,000 steps.
CAMPAIGN_TRAIN = TrainConfig(batch_size=256, lr=0.02, momentum=0.9, weight_decay=1e-4,
                             schedule="wsd", warmup_steps=500, total_steps=10_000_000,
                             decay_steps=0, eval_every=1000, eval_positions=10_000,
                             checkpoint_every=250, seed=0, workers=1, value_weight=0.5,
                             ema_decay=0.999, value_batch=64, value_positions_per_game=8)
# The shipped policy read 11,000 batches of 256 of the seed-0 data order; the campaign goes on
# from there.
SHIPPED_POLICY_BATCHES = 11_000


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0,
                    help="active training time of this run (pauses excluded)")
    ap.add_argument("--max-steps", type=int, default=None,
                    help="stop after this many steps as well (whichever comes first)")
    ap.add_argument("--run-dir", default=str(ROOT / "runs" / "campaign"),
                    help="checkpoints, log.csv, tb/, best.pt (not committed)")
    ap.add_argument("--state", default=str(ROOT / "data" / "campaign" / "state.pt"),
                    help="the committed state file the next machine continues from")
    ap.add_argument("--shards", default=str(ROOT / "shards" / "pro"),
                    help="position shards (rebuilt from --sources when missing)")
    ap.add_argument("--sources", nargs="+",
                    default=[str(shared_data() / "pro_games.tar.gz")],
                    help="SGF archives/directories the shards are made from")
    ap.add_argument("--value-shards", nargs="*", default=[],
                    help="self-play shard folders (scripts/selfplay.py --out): --value-batch "
                         "of their positions join every batch for the value head (the replay "
                         "window is the folders given)")
    ap.add_argument("--init-from", default=str(shipped.POLICY_SL),
                    help="the net a new campaign grows its dual net from; 'none': a new "
                         "campaign starts a fresh net of --filters/--depth/--feature-set "
                         "(with its own --state and --run-dir)")
    ap.add_argument("--filters", type=int, default=None,
                    help="a new campaign's filters: a fresh net's (with --init-from none; "
                         "default 64), or the --init-from net grown this wide")
    ap.add_argument("--depth", type=int, default=None,
                    help="a new campaign's residual blocks: a fresh net's (with --init-from "
                         "none; default 6), or the --init-from net grown this deep")
    ap.add_argument("--feature-set", default=None,
                    help="a fresh net's input planes (with --init-from none; default basic)")
    ap.add_argument("--data-offset", type=int, default=None,
                    help="batches of the data order the --init-from net has read (a new "
                         f"campaign: {SHIPPED_POLICY_BATCHES}, what the shipped policy read; "
                         "a resumed one: the offset its state was started with)")
    ap.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    ap.add_argument("--bf16", choices=["auto", "on", "off"], default="on",
                    help="bf16 autocast (AMX on CPUs that have it; always on CUDA)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--nice", type=int, default=10, help="added niceness (0: none)")
    ap.add_argument("--status", action="store_true", help="print the state and exit")
    ap.add_argument("--export-average", metavar="OUT",
                    help="write the newest state's averaged weights as a model file (for "
                         "--model, eval, matches) and exit; no training")
    ap.add_argument("--decay", type=int, default=0, metavar="STEPS",
                    help="make a candidate instead: branch off the newest state, decay the "
                         "learning rate linearly to zero over STEPS steps in --candidate-dir "
                         "(the campaign's own state stays at its stable rate)")
    ap.add_argument("--candidate-dir", default=str(ROOT / "runs" / "candidate"),
                    help="where --decay writes its run (best.pt is the candidate)")
    ap.add_argument("--quiet", action="store_true")
    for f in dataclasses.fields(TrainConfig):
        if f.name not in ("total_steps", "data_offset"):
            ap.add_argument(f"--{f.name.replace('_', '-')}", dest=f"train_{f.name}",
                            type=_flag_type(getattr(CAMPAIGN_TRAIN, f.name)), default=None,
                            help=f"train: {f.name} (campaign: {getattr(CAMPAIGN_TRAIN, f.name)})")
    ap.add_argument("--total-steps", type=int, default=None,
                    help="end of the schedule (with --decay-steps: the decay's last step)")
    return ap


def _flag_type(default):
    """The parser of a train flag from the campaign's default: a path for one that is None,
    on/off (true/false, 1/0) for a switch, else the default's own type."""
    if default is None:
        return str
    if isinstance(default, bool):
        return on_off
    return type(default)


# What a resumed campaign keeps from its state unless the command line says otherwise: the
# training recipe. Not kept: the schedule's end (each run or branch sets it), the data offset
# (its own rule below) and the settings of one machine or one run (loaders, evaluation,
# checkpoint interval).
RECIPE_FIELDS = ("batch_size", "lr", "momentum", "weight_decay", "optimizer", "schedule",
                 "warmup_steps", "step_every", "ema_decay", "value_batch",
                 "value_positions_per_game", "seed", "value_weight", "value_q_weight",
                 "positions_per_game", "reinforce", "visit_targets", "kl_weight", "kl_anchor")


def saved_train_config(src: Path | None) -> dict:
    """The train config stored in the state ``src`` ({} for none): one read of the file."""
    if src is None:
        return {}
    from alphago import checkpoint

    return checkpoint.load_state(src).get("extra", {}).get("train_config", {})


def train_config(args, src: Path | None = None) -> TrainConfig:
    """The command line's settings over the recipe of the state ``src`` it resumes (its
    learning rate, batch, momentum, ...), over the campaign's defaults. A --batch-size that
    differs from the recipe's without a --lr scales the rate with the batch (linear scaling:
    0.005 at 256 is 0.02 at 1024). The data offset is the state's unless one is given."""
    kw = {k[6:]: v for k, v in vars(args).items() if k.startswith("train_") and v is not None}
    saved = saved_train_config(src)
    base = dataclasses.replace(CAMPAIGN_TRAIN,
                               **{k: saved[k] for k in RECIPE_FIELDS if k in saved})
    if "batch_size" in kw and "lr" not in kw and kw["batch_size"] != base.batch_size:
        kw["lr"] = base.lr * kw["batch_size"] / base.batch_size
    if args.total_steps is not None:
        kw["total_steps"] = args.total_steps
    kw["data_offset"] = args.data_offset
    if kw["data_offset"] is None:
        kw["data_offset"] = int(saved.get("data_offset", SHIPPED_POLICY_BATCHES))
    return dataclasses.replace(base, **kw)


def ensure_shards(shards: Path, sources: list[str], progress: bool) -> None:
    """Positions from the SGF sources, when the shards are not there (a few minutes)."""
    from alphago import dataset, sgf

    if (shards / "summary.json").exists() and dataset.shard_files(shards, "train"):
        return
    missing = [s for s in sources if not Path(s).exists()]
    if missing:
        raise FileNotFoundError(f"no shards under {shards} and no SGF source at {missing}")

    logging.getLogger("campaign").info("building shards %s from %s", shards, sources)
    if shards.exists():
        shutil.rmtree(shards)  # a half-written set from a killed run
    tmp = shards.with_name(shards.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    # one process: the same shards, in the same order, as scripts/prepare_data.py made for the
    # shipped policy, so that --data-offset skips exactly what that net has read
    dataset.prepare(sources, tmp, sgf.GameFilter(sizes=(19,), min_moves=30), progress=progress)
    os.replace(tmp, shards)


def newest_state(run_dir: Path, state: Path) -> Path | None:
    """The checkpoint with the higher step of the run directory's and the committed one."""
    from alphago import checkpoint

    best, best_step = None, -1
    for p in (run_dir / "last.pt", state):
        if p.exists():
            step = checkpoint.load_state(p)["step"]
            if step > best_step:
                best, best_step = p, step
    return best


def status(run_dir: Path, state: Path) -> dict:
    from alphago import checkpoint

    src = newest_state(run_dir, state)
    if src is None:
        return {"state": None}
    st = checkpoint.load_state(src)
    extra = st.get("extra", {})
    return {"state": str(src), "step": st["step"], "model": st["model_config"],
            "active_hours": round(extra.get("active_s", 0.0) / 3600, 3),
            "val": extra.get("val"), "ema": extra.get("ema")}


def export_average(run_dir: Path, state: Path, out: Path) -> dict:
    """The weight average of the newest state, saved as a plain model file at ``out``."""
    from alphago import checkpoint
    from alphago.config import ModelConfig, from_dict
    from alphago.model import build_model

    src = newest_state(run_dir, state)
    if src is None:
        raise ValueError(f"no campaign state in {run_dir} or {state}")
    st = checkpoint.load_state(src)
    avg = st.get("extra", {}).get("ema_weights")
    if avg is None:
        raise ValueError(f"{src} keeps no weight average")
    net = build_model(from_dict(ModelConfig, st["model_config"]))
    net.load_state_dict(avg)  # copied into the net's own dtypes, as a resumed run does
    checkpoint.save(out, net, None, st["step"], {"averaged_from": str(src)})
    return {"model": str(out), "step": st["step"], "from": str(src)}


def _train(args, run_dir: Path, cfg: TrainConfig, model_cfg=None, init_from=None):
    """One ``train.train`` run with the command line's device, time and data settings;
    it resumes from ``run_dir/last.pt`` unless it starts from ``init_from``."""
    from alphago import train

    bf16 = None if args.bf16 == "auto" else args.bf16 == "on"
    return train.train(args.shards, str(run_dir), model_cfg, cfg, args.device,
                       resume=init_from is None, bf16=bf16, max_steps=args.max_steps,
                       init_from=init_from, progress=not args.quiet,
                       max_seconds=args.hours * 3600, value_shards=args.value_shards or None)


def decay_branch(args) -> int:
    """WSD's decay as a branch: the stable state goes on unchanged, the candidate comes out."""
    from alphago import checkpoint

    src = newest_state(Path(args.run_dir), Path(args.state))
    if src is None:
        raise FileNotFoundError("no campaign state to branch from: run the campaign first")
    cand = Path(args.candidate_dir)
    if cand.exists():
        shutil.rmtree(cand)
    cand.mkdir(parents=True)
    shutil.copyfile(src, cand / "last.pt")
    step = checkpoint.load_state(src)["step"]
    cfg = dataclasses.replace(train_config(args, src), total_steps=step + args.decay,
                              decay_steps=args.decay)
    ensure_shards(Path(args.shards), args.sources, not args.quiet)
    result = _train(args, cand, cfg)
    print(json.dumps({"branched_at": step, "step": result.step,
                      "candidate": str(cand / "best.pt"), **result.metrics}))
    return 0


def new_model_config(args):
    """A new campaign's net: the --init-from net with both heads, grown to --filters/--depth
    when they are given; or a fresh net of --filters/--depth/--feature-set with --init-from
    none."""
    from alphago import checkpoint
    from alphago.config import ModelConfig

    size = {k: v for k, v in (("filters", args.filters), ("depth", args.depth)) if v is not None}
    if args.init_from == "none":
        if args.feature_set is not None:
            size["feature_set"] = args.feature_set
        return ModelConfig(arch="resnet", heads="both", **size)
    if args.feature_set:
        raise ValueError("--feature-set makes a fresh net: add --init-from none")
    base = checkpoint.load_model(args.init_from)[0].cfg
    cfg = dataclasses.replace(base, heads="both", **size)
    if cfg.filters < base.filters or cfg.depth < base.depth:
        raise ValueError(f"--filters/--depth grow the --init-from net ({base.depth}x"
                         f"{base.filters}); they cannot shrink it")
    return cfg


def run(args) -> int:
    missing = [d for d in args.value_shards if not Path(d, "train").is_dir()]
    if missing:
        raise FileNotFoundError(f"no self-play shards (train/) under {', '.join(missing)}")
    run_dir, state = Path(args.run_dir), Path(args.state)
    src = newest_state(run_dir, state)
    ensure_shards(Path(args.shards), args.sources, not args.quiet)
    run_dir.mkdir(parents=True, exist_ok=True)
    if src is not None and src != run_dir / "last.pt":
        shutil.copyfile(src, run_dir / "last.pt")
    cfg = train_config(args, src)
    model_cfg = None
    if src is None:
        model_cfg = new_model_config(args)
    grow = src is None and args.init_from != "none"
    result = _train(args, run_dir, cfg, model_cfg, init_from=args.init_from if grow else None)
    state.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "last.pt", state.with_name(state.name + ".tmp"))
    os.replace(state.with_name(state.name + ".tmp"), state)
    print(json.dumps({"step": result.step, "active_hours_this_run":
                      round(result.active_seconds / 3600, 3), "state": str(state),
                      **result.metrics}))
    return 0


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    if args.status:
        print(json.dumps(status(Path(args.run_dir), Path(args.state)), indent=1))
        return 0
    if args.export_average:
        try:
            print(json.dumps(export_average(Path(args.run_dir), Path(args.state),
                                            Path(args.export_average))))
        except (ValueError, OSError) as exc:
            print(f"alphago-campaign: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.hours <= 0:
        ap.error("--hours must be positive")
    if args.nice:
        os.nice(args.nice)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return decay_branch(args) if args.decay > 0 else run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
