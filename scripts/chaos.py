#!/usr/bin/env python
"""SIGKILL a training run or the RL loop at random moments, resume, verify.

    python scripts/chaos.py train --kills 10 --seed 1
    python scripts/chaos.py rl --kills 10 --seed 1

Each target is a small real job (9x9) in a temporary directory: ``train`` is
scripts/train_sl.py on self-play shards with a checkpoint every 10 steps, ``rl`` is
scripts/rl_loop.py with two self-play workers; both run long enough (``--steps``,
``--generations``) for every kill to land mid-run. After the kills
the same command runs to the end; the run is then checked (alphago/chaos.py): final
checkpoint loadable with its checksum at the last step, every generation's games present
exactly once, candidates, gates, best.pt and ratings in place. Prints a JSON summary
and exits 1 if anything is wrong.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alphago.tools import chaos  # noqa: E402

RL_GAMES = 8


def train_target(work: Path, steps: int) -> tuple[list[str], callable]:
    from alphago import selfplay
    from alphago.evaluator import UniformEvaluator

    cfg = selfplay.SelfPlayConfig(games=60, size=9, komi=7.5, seed=3, max_moves=120)
    selfplay.write_games(selfplay.play_games(UniformEvaluator(), cfg), cfg, work / "shards",
                         val_fraction=0.1)
    cmd = [sys.executable, str(ROOT / "scripts" / "train_sl.py"), "--shards",
           str(work / "shards"), "--run-dir", str(work / "run"), "--resume", "--board-size", "9",
           "--filters", "16", "--depth", "2", "--total-steps", str(steps),
           "--checkpoint-every", "10", "--eval-every", "100", "--batch-size", "32",
           "--workers", "0", "--device", "cpu", "--quiet"]
    return cmd, lambda: chaos.verify_training(work / "run", steps)


def rl_target(work: Path, generations: int) -> tuple[list[str], callable]:
    cmd = [sys.executable, str(ROOT / "scripts" / "rl_loop.py"), "--run-dir", str(work / "rl"),
           "--quiet", "--board-size", "9", "--generations", str(generations),
           "--games-per-generation", str(RL_GAMES), "--games-per-task", "4",
           "--train-steps", "8", "--batch-size", "16", "--gate-games", "4", "--gate-sprt", "off",
           "--init-filters", "8", "--init-depth", "1", "--max-moves", "100", "--workers", "2",
           "--device", "cpu"]
    return cmd, lambda: chaos.verify_rl_run(work / "rl", RL_GAMES)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target", choices=["train", "rl"])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-s", type=float, default=2.0, help="earliest kill after a start")
    ap.add_argument("--max-s", type=float, default=20.0, help="latest kill after a start")
    ap.add_argument("--work", help="directory to use (default: a temporary one)")
    ap.add_argument("--steps", type=int, default=20_000,
                    help="train: total steps (long enough for the kills to land mid-run)")
    ap.add_argument("--generations", type=int, default=6, help="rl: generations")
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix=f"chaos_{args.target}_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.target == "train":
        cmd, verify = train_target(work, args.steps)
    else:
        cmd, verify = rl_target(work, args.generations)
    attempts = chaos.kill_and_resume(cmd, args.kills, random.Random(args.seed), args.min_s,
                                     args.max_s)
    problems = verify() if attempts[-1]["returncode"] == 0 else ["the final run failed"]
    killed = sum(a["killed"] for a in attempts)
    out = {"target": args.target, "kills": killed, "survived": killed if not problems else 0,
           "final_returncode": attempts[-1]["returncode"], "problems": problems,
           "attempts": attempts, "work": str(work)}
    print(json.dumps(out, indent=1))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
