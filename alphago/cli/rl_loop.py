"""Self-play reinforcement learning: generations of self-play, training and gating.

    alphago-rl --run-dir runs/rl19 --generations 10 \\
        --games-per-generation 256 --train-steps 500 --gate-games 40 --workers 2
    alphago-rl --run-dir runs/rl9 --board-size 9 --visits 64 ...
    alphago-rl --run-dir /shared/rl --ray-address auto   # Ray cluster

Rerunning the same command resumes where the loop stopped (killed or not); the best
model is DIR/best.pt at any time, DIR/ratings.json and ratings.svg hold the Elo of each
generation. See alphago/rl.py for the run directory's layout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path


from alphago.coords import MAX_SIZE, MIN_SIZE
from alphago.procs import TerminateAsInterrupt
from alphago.rl import Loop, LoopConfig
from alphago.selfplay import playout_cap_error


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--board-size", type=int)
    ap.add_argument("--komi", type=float)
    ap.add_argument("--generations", type=int)
    ap.add_argument("--games-per-generation", type=int)
    ap.add_argument("--games-per-task", type=int, help="games one worker task plays (64)")
    ap.add_argument("--visits", type=int,
                    help="0 (default): policy-only self-play vs the opponent pool, trained "
                         "by REINFORCE; > 0: search self-play")
    ap.add_argument("--cheap-visits", type=int,
                    help="playout-cap randomisation (KataGo): moves not drawn for a full "
                         "search get this many visits, no noise and no policy target")
    ap.add_argument("--full-fraction", type=float,
                    help="share of moves searched with --visits when --cheap-visits is set "
                         "(0.25)")
    ap.add_argument("--prune-targets", action="store_true", default=None,
                    help="KataGo's policy-target pruning of the visit distributions")
    ap.add_argument("--root-noise", type=float,
                    help="weight of the Dirichlet noise at the root of the full searches "
                         "(0.25; 0: policy targets from noise-free searches)")
    ap.add_argument("--train-steps", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--lr", type=float, help="learning rate (REINFORCE: 1e-4, plain SGD; "
                                             "expert iteration: 0.01, momentum 0.9)")
    ap.add_argument("--window", type=int,
                    help="generations of games trained on (default: 1 with REINFORCE, "
                    "which is on-policy; 4 with expert iteration)")
    ap.add_argument("--gate-games", type=int)
    ap.add_argument("--gate-threshold", type=float, help="win rate to promote (0.55)")
    ap.add_argument("--gate-sprt", help="ELO0,ELO1,ALPHA,BETA (default 0,50,0.05,0.05); "
                                        "'off' for the fixed-games rule alone")
    ap.add_argument("--gate-visits", type=int)
    ap.add_argument("--workers", type=int, help="self-play processes / parallel gate games")
    ap.add_argument("--ray-address", help="Ray cluster address, or 'local'")
    ap.add_argument("--init-model", help="starting net (default on 19x19: the engine's, "
                                         "data/dual.pt when present, else data/policy_sl.pt)")
    ap.add_argument("--init-filters", type=int)
    ap.add_argument("--init-depth", type=int)
    ap.add_argument("--max-moves", type=int)
    ap.add_argument("--kl-weight", type=float,
                    help="weight of KL(generation 0 || learner) in training, which holds the "
                         "learner near the net the run started from (0: off)")
    ap.add_argument("--value-weight", type=float,
                    help="weight of the value loss against the policy's in training (1)")
    ap.add_argument("--value-q-weight", type=float,
                    help="expert iteration: the value target is (1 - W) x the game's outcome + "
                         "W x the search's root value before the move (0: the outcome alone)")
    ap.add_argument("--replay-shards", nargs="+", metavar="DIR",
                    help="expert iteration: shard folders of played games (prepare_data.py "
                         "from SGF records) pooled with the self-play window in training, "
                         "their moves as one-hot policy targets")
    ap.add_argument("--device", help="cpu or cuda for self-play and training")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--summary", action="store_true",
                    help="print the run's summary (games, hours, each gate with its interval, "
                         "ratings) and exit; also kept in RUN_DIR/summary.json")
    return ap


def replay_shard_checks(cfg: LoopConfig) -> list[tuple[bool, str]]:
    """--replay-shards: expert iteration only; folders of train shards of the run's size."""
    if not cfg.replay_shards:
        return []
    from alphago.dataset import folder_board_size, shard_files

    checks = [(cfg.visits > 0, "--replay-shards needs expert iteration (--visits > 0)")]
    for d in cfg.replay_shards:
        shards = bool(shard_files(d, "train"))
        checks.append((shards, f"--replay-shards: no train shards under {d}"))
        try:
            size = folder_board_size(d)
        except (OSError, ValueError, KeyError) as exc:
            checks.append((False, f"--replay-shards: unreadable {d}/summary.json ({exc!r})"))
            continue
        checks.append((not shards or size == cfg.board_size,
                       f"--replay-shards: {d} holds {size}x{size} games, the run is "
                       f"{cfg.board_size}x{cfg.board_size}"))
    return checks


def resolve(ap: argparse.ArgumentParser, args) -> LoopConfig:
    """Stored config (a resumed run) or defaults, then the flags given now."""
    stored = Path(args.run_dir) / "config.json"
    values = json.loads(stored.read_text()) if stored.exists() else {}
    for f in dataclasses.fields(LoopConfig):
        v = getattr(args, f.name, None)
        if v is not None:
            values[f.name] = v
    sprt = values.get("gate_sprt", LoopConfig.gate_sprt)
    if isinstance(sprt, str):
        if sprt.lower() in ("off", "none", ""):
            sprt = None
        else:
            try:
                sprt = tuple(float(x) for x in sprt.split(","))
            except ValueError:
                ap.error("--gate-sprt takes ELO0,ELO1,ALPHA,BETA or off")
            if len(sprt) != 4:
                ap.error("--gate-sprt takes four numbers: ELO0,ELO1,ALPHA,BETA")
    values["gate_sprt"] = tuple(sprt) if sprt is not None else None
    values["replay_shards"] = tuple(values.get("replay_shards") or ())
    try:
        cfg = LoopConfig(**values)
    except TypeError as exc:
        ap.error(f"bad settings in {stored}: {exc}")
    checks = [(MIN_SIZE <= cfg.board_size <= MAX_SIZE,
               f"--board-size must be within {MIN_SIZE}..{MAX_SIZE}"),
              (cfg.generations >= 1, "--generations must be >= 1"),
              (cfg.games_per_generation >= 1 and cfg.games_per_task >= 1,
               "--games-per-generation and --games-per-task must be >= 1"),
              (cfg.visits >= 0, "--visits must be >= 0"),
              (0.0 <= cfg.root_noise <= 1.0, "--root-noise must be within 0..1"),
              (cfg.train_steps >= 1, "--train-steps must be >= 1"),
              (cfg.lr is None or cfg.lr > 0, "--lr must be positive"),
              (cfg.gate_games >= 1, "--gate-games must be >= 1"),
              (cfg.workers >= 1, "--workers must be >= 1"),
              (cfg.window is None or cfg.window >= 1, "--window must be >= 1"),
              (cfg.kl_weight >= 0, "--kl-weight must be >= 0"),
              (cfg.value_weight >= 0, "--value-weight must be >= 0"),
              (0.0 <= cfg.value_q_weight <= 1.0, "--value-q-weight must be within 0..1"),
              (cfg.value_q_weight == 0 or cfg.visits > 0,
               "--value-q-weight needs search self-play (--visits > 0)")]
    for ok, msg in checks + replay_shard_checks(cfg):
        if not ok:
            ap.error(msg)
    cap_error = playout_cap_error(cfg.visits, cfg.cheap_visits, cfg.full_fraction)
    if cap_error:
        ap.error(cap_error)
    if cfg.init_model and not Path(cfg.init_model).is_file():
        ap.error(f"model file not found: {cfg.init_model}")
    return cfg


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.summary:
        from alphago.rl import run_summary

        try:
            print(json.dumps(run_summary(args.run_dir), indent=1))
        except FileNotFoundError:
            ap.error(f"no run in {args.run_dir} (state.json missing)")
        return 0
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    cfg = resolve(ap, args)
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1))
    try:
        with TerminateAsInterrupt():
            state = Loop(run, cfg).run()
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped; rerun the same command to resume", file=sys.stderr)
        return 130
    print(json.dumps({"generation": state["generation"] - 1, "best": state["best"],
                      "history": state["history"][-3:]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
