"""Kill-and-resume checks: run a resumable job, SIGKILL it at random moments, rerun the
same command, and verify that nothing was lost, duplicated or corrupted.

``kill_and_resume(cmd, kills, rng)`` returns how each attempt ended; ``verify_training``
and ``verify_rl_run`` list what is wrong with a finished run directory (empty: fine).
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path


def kill_and_resume(cmd: list[str], kills: int, rng: random.Random, min_s: float = 1.0,
                    max_s: float = 20.0, timeout: float = 1200.0, env: dict | None = None
                    ) -> list[dict]:
    """Start ``cmd``; ``kills`` times SIGKILL it after a random delay (a run that ends
    first is not killed), then run it to completion. Returns one dict per attempt."""
    attempts = []
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS="1")
    for k in range(kills):
        delay = rng.uniform(min_s, max_s)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        try:
            proc.wait(timeout=delay)
            attempts.append({"attempt": k, "killed": False, "returncode": proc.returncode})
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the job and any worker processes
            proc.wait()
            attempts.append({"attempt": k, "killed": True, "after_s": round(delay, 2)})
    t0 = time.time()
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    attempts.append({"attempt": kills, "killed": False, "returncode": final.returncode,
                     "seconds": round(time.time() - t0, 1), "stderr": final.stderr[-1500:]})
    return attempts


def verify_training(run_dir: str | os.PathLike, total_steps: int) -> list[str]:
    """A finished training run: last.pt loads (checksum verified) at the final step and
    the log's steps only go forward."""
    from alphago import checkpoint

    run = Path(run_dir)
    problems = []
    try:
        state = checkpoint.load_state(run / "last.pt")
        if state["step"] != total_steps:
            problems.append(f"last.pt at step {state['step']}, not {total_steps}")
    except checkpoint.CheckpointError as exc:
        problems.append(str(exc))
    log = run / "log.csv"
    if log.exists():
        with log.open() as f:
            steps = [int(row["step"]) for row in csv.DictReader(f)]
        if steps != sorted(steps):
            problems.append(f"log steps out of order: {steps}")
    return problems


def verify_rl_run(run_dir: str | os.PathLike, games_per_generation: int) -> list[str]:
    """Every finished generation holds exactly its games (no task lost or doubled), a
    candidate model and a gate result; best.pt loads; ratings cover the generations."""
    from alphago import checkpoint

    run = Path(run_dir)
    state = json.loads((run / "state.json").read_text())
    problems = []
    done = state["generation"] - 1
    for g in range(1, done + 1):
        gen = run / "games" / f"gen_{g:04d}"
        names = [p.name for p in gen.glob("task_*/sgf/*.sgf")]
        if len(names) != games_per_generation or len(set(names)) != len(names):
            problems.append(f"generation {g}: {len(names)} SGFs "
                            f"({len(set(names))} distinct), expected {games_per_generation}")
        if list(gen.glob("*.partial")):
            problems.append(f"generation {g}: a partial task left in place")
        if not (run / "models" / f"gen_{g:04d}.pt").exists():
            problems.append(f"generation {g}: no candidate model")
        if not (run / "gates" / f"gen_{g:04d}" / "summary.json").exists():
            problems.append(f"generation {g}: no gate summary")
    for path in [run / "best.pt", *sorted((run / "models").glob("*.pt"))]:
        try:
            checkpoint.load_state(path)
        except checkpoint.CheckpointError as exc:
            problems.append(str(exc))
    ratings = json.loads((run / "ratings.json").read_text()) if done else []
    if done and [r["generation"] for r in ratings] != list(range(done + 1)):
        problems.append("ratings.json does not cover every generation")
    return problems
