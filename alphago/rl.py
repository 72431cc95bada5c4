"""The self-play reinforcement-learning loop: generations of self-play, training, gating.

Everything lives in one run directory::

    DIR/config.json            the loop's settings (written once; flags given on a rerun win)
    DIR/state.json             generation, phase, best model, opponent pool, ratings
    DIR/best.pt                the best model so far (gtp_server.py --model DIR/best.pt)
    DIR/models/gen_NNNN.pt     every generation's candidate (gen_0000: the starting net)
    DIR/games/gen_NNNN/task_K/ SGFs + shards of one self-play task, done.json when complete
    DIR/train/gen_NNNN/        the training run of that generation (last.pt, log.csv)
    DIR/gates/gen_NNNN/        the gating match (games.jsonl, SGFs, summary.json)
    DIR/ratings.json, ratings.svg

A generation is three phases, each restartable: ``selfplay`` (tasks without done.json
are redone from scratch, so a killed task neither loses nor duplicates a game),
``train`` (resumes from its last.pt) and ``gate`` (the match tool resumes from its
games.jsonl). state.json is replaced atomically after each phase, so a kill at any
moment resumes at the phase it interrupted.

Self-play is AlphaGo's RL stage when ``visits`` is 0: the best policy samples its moves
against a randomly chosen earlier model from the pool, and only its own moves are
trained on (REINFORCE with a baseline). With ``visits`` > 0 it is expert iteration, as
AlphaGo Zero, Leela Zero, minigo and KataGo train: the best model plays itself with search
(noise, temperature, resignation with a no-resign share), the root's visit distribution
of every move is stored in the shards, and the policy learns those distributions while
the value head learns the outcomes.
Tasks run in this process, in a local process pool (``workers``), or as Ray tasks
(``ray_address``: a cluster address, or ``local``), all writing into DIR.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import logging
import math
import multiprocessing
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from alphago import shipped
from alphago.ratings import elo_from_p, ratings_svg

log = logging.getLogger("alphago.rl")


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    board_size: int = 19
    komi: float = 7.5
    generations: int = 10
    games_per_generation: int = 256
    games_per_task: int = 64
    visits: int = 0  # 0: policy-only self-play vs the pool (AlphaGo's RL stage)
    # playout-cap randomisation of search self-play (None: every move gets ``visits``)
    cheap_visits: int | None = None
    full_fraction: float = 0.25
    prune_targets: bool = False  # KataGo's policy-target pruning (selfplay.pruned_visits)
    root_noise: float = 0.25  # Dirichlet noise weight at the root of the full searches
    train_steps: int = 500
    batch_size: int = 128
    lr: float | None = None  # None: REINFORCE_LR, or EXPERT_LR with visits > 0
    window: int | None = None  # generations of games trained on (None: train_window)
    gate_games: int = 40
    gate_threshold: float = 0.55  # fixed-games rule: candidate's win rate to be promoted
    gate_sprt: tuple[float, float, float, float] | None = (0.0, 50.0, 0.05, 0.05)
    gate_visits: int | None = None  # search visits of gating engines (None: visits)
    workers: int = 1
    ray_address: str | None = None
    init_model: str | None = None  # None: the engine's default net on 19x19, else a fresh net
    init_filters: int = 32
    init_depth: int = 3
    max_moves: int | None = None
    # weight of KL(generation 0 || learner) in training: holds the learner near the net the
    # run started from (0 = off)
    kl_weight: float = 0.0
    # weight of the value loss in training (the outcome of a game labels all its positions,
    # so a few hundred games overfit a value head that weighs as much as the policy)
    value_weight: float = 1.0
    # expert iteration: the value target mixes the search's root value into the outcome,
    # (1 - w) * outcome + w * q (0 = the outcome alone; TrainConfig.value_q_weight)
    value_q_weight: float = 0.0
    # expert iteration: shard folders of played games (prepare_data.py: SGF records, their
    # moves as one-hot targets) pooled with the window's self-play in every training
    replay_shards: tuple[str, ...] = ()
    device: str = "auto"  # self-play: as gtp_server.py --device; training: cuda or cpu
    seed: int = 0

    def search_selfplay(self):
        """Search self-play's settings (expert iteration, ``visits`` > 0)."""
        from alphago.selfplay import SearchSelfPlayConfig

        return SearchSelfPlayConfig(visits=self.visits, cheap_visits=self.cheap_visits,
                                    full_fraction=self.full_fraction,
                                    prune_targets=self.prune_targets, noise=self.root_noise)


REVERT_BELOW = 0.5  # REINFORCE: a candidate whose gate interval ends under this is dropped
REINFORCE_LR = 1e-4  # plain SGD (no momentum); 1e-3 with momentum drifted off on 19x19
EXPERT_LR = 0.01  # SGD with momentum 0.9; 1e-4 left a fresh 9x9 net where it started


def gate_opening_moves(size: int) -> int:
    """Moves of a self-play game a gate pair starts from: 6 on 9x9, 8 from 13x13 up."""
    return max(2, min(8, size * size // 12))


def train_window(cfg: LoopConfig) -> int:
    """Generations of games trained on: REINFORCE is on-policy, so by default it learns
    from the games its learner has just played; expert iteration from the last 4."""
    if cfg.window is not None:
        return cfg.window
    return 1 if cfg.visits == 0 else 4


def train_lr(cfg: LoopConfig) -> float:
    if cfg.lr is not None:
        return cfg.lr
    return REINFORCE_LR if cfg.visits == 0 else EXPERT_LR


# ----- small file helpers ----------------------------------------------------------------
def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dst)


def gen_name(g: int) -> str:
    return f"gen_{g:04d}"


# ----- self-play tasks -------------------------------------------------------------------
def selfplay_task(spec: dict) -> dict:
    """Play one task's games and write them (in a worker process, a Ray task or here).
    Writes ``done.json`` last: its presence means the task's output is complete."""
    import torch

    from alphago import selfplay
    from alphago.evaluator import make_evaluator

    torch.set_num_threads(spec.get("threads", 1))
    out = Path(spec["out"])
    if (out / "done.json").exists():
        return json.loads((out / "done.json").read_text())
    if out.exists():
        shutil.rmtree(out)  # a partial task from a killed run: redo it whole
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    t0 = time.time()
    cfg = selfplay.SelfPlayConfig(games=spec["games"], size=spec["size"], komi=spec["komi"],
                                  max_moves=spec["max_moves"], seed=spec["seed"])
    batch = spec["games"]
    me = make_evaluator(spec["model"], spec["device"], spec.get("threads", 1), batch)
    if spec["visits"] > 0:
        scfg = selfplay.SearchSelfPlayConfig(**spec["search"])
        games = selfplay.play_search_games(me, cfg, scfg, name="best")
        learner = None
    else:
        opp = make_evaluator(spec["opponent"], spec["device"], spec.get("threads", 1), batch)
        games = selfplay.play_games(me, cfg, opp, names=("best", "opponent"))
        learner = "best"
    summary = selfplay.write_games(games, cfg, tmp, prefix=spec["prefix"],
                                   first_id=spec["first_id"], learner=learner)
    summary.update({"seconds": round(time.time() - t0, 2), "opponent": spec.get("opponent")})
    write_json_atomic(tmp / "done.json", summary)
    os.replace(tmp, out)  # the task appears whole or not at all
    return summary


def _run_tasks(specs: list[dict], cfg: LoopConfig) -> list[dict]:
    if not specs:
        return []
    if cfg.ray_address:
        import ray

        if not ray.is_initialized():
            if cfg.ray_address == "local":
                ray.init(num_cpus=max(1, cfg.workers), include_dashboard=False,
                         log_to_driver=False)
            else:
                ray.init(address=cfg.ray_address, log_to_driver=False)
        remote = ray.remote(num_cpus=1)(selfplay_task)
        return ray.get([remote.remote(s) for s in specs])
    if cfg.workers > 1:
        from alphago.procs import die_with_parent

        ctx = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=die_with_parent,
                                      initargs=(os.getpid(),))
        try:
            return list(pool.map(selfplay_task, specs))
        except BaseException:  # Ctrl-C, SIGTERM: end the workers now (a rerun redoes their task)
            for proc in multiprocessing.active_children():
                proc.kill()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return [selfplay_task(s) for s in specs]


# ----- the loop ------------------------------------------------------------------------
class Loop:
    def __init__(self, run_dir: str | os.PathLike, cfg: LoopConfig):
        self.dir = Path(run_dir)
        self.cfg = cfg
        self.state_path = self.dir / "state.json"

    # state
    def _initial_state(self) -> dict:
        from alphago import checkpoint
        from alphago.config import ModelConfig
        from alphago.model import build_model, with_heads

        (self.dir / "models").mkdir(parents=True, exist_ok=True)
        first = self.dir / "models" / f"{gen_name(0)}.pt"
        init = self.cfg.init_model
        default = shipped.default_model()
        if init is None and self.cfg.board_size == 19 and default.exists():
            init = str(default)
        # expert iteration trains a value head beside the policy, and its search reads it
        heads = "policy" if self.cfg.visits == 0 else "both"
        if init is not None:
            model, _ = checkpoint.load_model(init)
            if model.cfg.board_size != self.cfg.board_size:
                raise ValueError(f"{init} is a {model.cfg.board_size}x{model.cfg.board_size} "
                                 f"net, the loop plays {self.cfg.board_size}x"
                                 f"{self.cfg.board_size}")
            if heads == "both" and model.cfg.heads != "both":
                log.info("%s has no %s head: a fresh one is added for expert iteration", init,
                         "value" if model.cfg.heads == "policy" else "policy")
                model = with_heads(model, "both")
        else:
            import torch

            torch.manual_seed(self.cfg.seed)
            model = build_model(ModelConfig(board_size=self.cfg.board_size,
                                            filters=self.cfg.init_filters,
                                            depth=self.cfg.init_depth, heads=heads))
        checkpoint.save(first, model)
        copy_atomic(first, self.dir / "best.pt")
        rel = str(first.relative_to(self.dir))
        return {"generation": 1, "phase": "selfplay", "best": rel, "best_generation": 0,
                "learner": rel, "pool": [rel], "ratings": {"0": 0.0}, "history": []}

    def learner(self, state: dict) -> str:
        """The model self-play plays and training continues from. Expert iteration: the
        best (AlphaGo Zero's gated loop). REINFORCE: the latest trained policy, promoted or
        not, as AlphaGo's RL stage updated one policy for 10,000 minibatches: one step is
        too small for any gate to see, so steps must add up before the gate can promote."""
        if self.cfg.visits > 0:
            return state["best"]
        return state.get("learner", state["best"])

    def load_state(self) -> dict:
        if self.state_path.exists():
            return json.loads(self.state_path.read_text())
        self.dir.mkdir(parents=True, exist_ok=True)
        state = self._initial_state()
        self.save_state(state)
        return state

    def save_state(self, state: dict) -> None:
        write_json_atomic(self.state_path, state)

    # phases
    def run(self, until_generation: int | None = None) -> dict:
        state = self.load_state()
        try:
            return self._run(state, until_generation or self.cfg.generations)
        except BaseException:  # interrupted: keep the time the cut-short phase has spent
            saved = json.loads(self.state_path.read_text())  # and nothing else half-done
            saved["seconds"] = state.get("seconds", {})
            self.save_state(saved)
            raise

    def _run(self, state: dict, last: int) -> dict:
        while state["generation"] <= last:
            g = state["generation"]
            if state["phase"] == "selfplay":
                with _Timed(state, g, "selfplay"):
                    self.selfplay(g, state)
                state["phase"] = "train"
                self.save_state(state)
            if state["phase"] == "train":
                with _Timed(state, g, "train"):
                    self.train(g, state)
                state["phase"] = "gate"
                self.save_state(state)
            if state["phase"] == "gate":
                with _Timed(state, g, "gate"):
                    self.gate(g, state)
                state["generation"] = g + 1
                state["phase"] = "selfplay"
                self.save_state(state)
                self.write_ratings(state)
                write_json_atomic(self.dir / "summary.json", run_summary(self.dir))
        return state

    def selfplay(self, g: int, state: dict) -> list[dict]:
        cfg = self.cfg
        out = self.dir / "games" / gen_name(g)
        rng = np.random.default_rng([cfg.seed, g])
        specs = []
        tasks = math.ceil(cfg.games_per_generation / cfg.games_per_task)
        for k in range(tasks):
            games = min(cfg.games_per_task, cfg.games_per_generation - k * cfg.games_per_task)
            opponent = state["pool"][int(rng.integers(len(state["pool"])))]
            task_dir = out / f"task_{k:03d}"
            if (task_dir / "done.json").exists():
                continue
            specs.append({"out": str(task_dir), "games": games, "size": cfg.board_size,
                          "komi": cfg.komi, "max_moves": cfg.max_moves,
                          "seed": int(rng.integers(1 << 31)) + k,
                          "model": str(self.dir / self.learner(state)),
                          "opponent": str(self.dir / opponent), "visits": cfg.visits,
                          "search": (dataclasses.asdict(cfg.search_selfplay())
                                     if cfg.visits > 0 else None),
                          "device": cfg.device, "prefix": gen_name(g),
                          "first_id": g * 1_000_000 + k * cfg.games_per_task})
        t0 = time.time()
        results = _run_tasks(specs, cfg)
        if results:
            games = sum(r["games"] for r in results)
            log.info("generation %d: %d self-play games in %.0f s", g, games, time.time() - t0)
        return results

    def window_dirs(self, g: int) -> list[str]:
        dirs = []
        for h in range(max(1, g - train_window(self.cfg) + 1), g + 1):
            base = self.dir / "games" / gen_name(h)
            dirs += [str(p.parent) for p in sorted(base.glob("task_*/done.json"))]
        return dirs

    def train(self, g: int, state: dict) -> None:
        from alphago import checkpoint, train
        from alphago.config import TrainConfig

        cfg = self.cfg
        run = self.dir / "train" / gen_name(g)
        start = self.dir / self.learner(state)
        model, _ = checkpoint.load_model(start)
        tcfg = TrainConfig(batch_size=cfg.batch_size, lr=train_lr(cfg), warmup_steps=0,
                           momentum=0.0 if cfg.visits == 0 else 0.9,
                           total_steps=cfg.train_steps, eval_every=max(1, cfg.train_steps),
                           checkpoint_every=max(1, cfg.train_steps // 5), eval_positions=5000,
                           seed=cfg.seed + g, workers=0, reinforce=cfg.visits == 0,
                           visit_targets=cfg.visits > 0, kl_weight=cfg.kl_weight,
                           value_weight=cfg.value_weight, value_q_weight=cfg.value_q_weight,
                           kl_anchor=(str(self.dir / "models" / f"{gen_name(0)}.pt")
                                      if cfg.kl_weight > 0 else ""))
        last = run / "last.pt"
        if last.exists():
            try:
                checkpoint.load_state(last)
            except checkpoint.CheckpointError as exc:
                log.warning("discarding %s (%s): training again from the best model", last, exc)
                last.unlink()
        device = "auto" if cfg.device.startswith("onnx") else cfg.device
        dirs = self.window_dirs(g) + list(cfg.replay_shards)
        res = train.train(dirs, str(run), model.cfg, tcfg, device, resume=True,
                          init_from=str(start), progress=False)
        if res.interrupted:  # SIGINT/SIGTERM: last.pt is saved; a rerun goes on from it
            raise KeyboardInterrupt
        copy_atomic(last, self.dir / "models" / f"{gen_name(g)}.pt")

    def engine_command(self, model: Path, seed: int) -> str:
        cfg = self.cfg
        visits = cfg.gate_visits if cfg.gate_visits is not None else cfg.visits
        base = (f"{sys.executable} -m alphago.cli.gtp --model {model} --threads 1 "
                f"--device cpu --seed {seed} --size {cfg.board_size} --komi {cfg.komi}")
        if visits > 0:  # the search self-play plays: its value, pass rule and resignation
            sp = cfg.search_selfplay()
            return base + (f" --visits {visits} --rollouts {'on' if sp.rollouts else 'off'}"
                           f" --mix-lambda {sp.mix_lambda} --resign-threshold {sp.resign_threshold}"
                           " --playout-rules")
        # the player self-play uses: same symmetries, same pass rule, temperature 1
        return base + " --policy-only --policy-temperature 1 --playout-rules"

    def gate_openings(self, g: int) -> tuple:
        """Each pair of gate games (colours swapped) starts from the first moves of one of
        this generation's self-play games (moves sampled at temperature 1), so players
        that search deterministically do not replay one game pair over and over."""
        from alphago import match

        cfg = self.cfg
        moves = gate_opening_moves(cfg.board_size)
        try:
            return match.load_openings([str(self.dir / "games" / gen_name(g))], moves,
                                       cfg.board_size, limit=max(1, cfg.gate_games // 2),
                                       seed=cfg.seed + g)
        except ValueError as exc:  # no self-play game that long: the empty board
            log.warning("gate of generation %d without openings: %s", g, exc)
            return ()

    def gate(self, g: int, state: dict) -> dict:
        from alphago import match

        cfg = self.cfg
        cand = self.dir / "models" / f"{gen_name(g)}.pt"
        best = self.dir / state["best"]
        engines = ((f"gen{g}", self.engine_command(cand, cfg.seed + 2 * g)),
                   (f"gen{state['best_generation']}",
                    self.engine_command(best, cfg.seed + 2 * g + 1)))
        mcfg = match.MatchConfig(engines=engines, games=cfg.gate_games,
                                 game=match.GameConfig(size=cfg.board_size, komi=cfg.komi,
                                                       max_moves=cfg.max_moves),
                                 parallel=max(1, cfg.workers), sprt=cfg.gate_sprt,
                                 seed=cfg.seed + g, openings=self.gate_openings(g))
        summary = match.run_match(mcfg, self.dir / "gates" / gen_name(g), progress=False)
        pair = summary["pairs"][0]
        name = engines[0][0]
        wins, games = pair["wins"].get(name, 0), pair["games"]
        rate = (wins + 0.5 * pair.get("draws", 0)) / max(1, games)
        decision = summary.get("sprt", {}).get("decision") if cfg.gate_sprt else None
        promoted = decision == "H1" if decision in ("H0", "H1") else rate >= cfg.gate_threshold
        elo = elo_from_p(min(max(rate, 1e-3), 1 - 1e-3))
        state["ratings"][str(g)] = state["ratings"][str(state["best_generation"])] + elo
        entry = {"generation": g, "games": games, "wins": wins, "winrate": rate,
                 "ci95": pair.get("ci95"), "elo_vs_best": elo, "sprt": decision,
                 "promoted": promoted, "opponent": state["best"]}
        state["history"].append(entry)
        rel = str(cand.relative_to(self.dir))
        if promoted:
            state["best"], state["best_generation"] = rel, g
            state["pool"].append(rel)
            copy_atomic(cand, self.dir / "best.pt")
        if cfg.visits == 0:
            entry["learner"] = self.next_learner(state, rel, promoted, pair.get("ci95"))
        log.info("generation %d gate: %d/%d (%.0f%%), %s", g, wins, games, 100 * rate,
                 "promoted" if promoted else "kept the best")
        return entry

    def next_learner(self, state: dict, cand: str, promoted: bool, ci95) -> str:
        """REINFORCE's guard against collapse: the candidate goes on learning (and joins
        the opponent pool) unless its gate shows it clearly weaker than the best (the
        Wilson interval's upper end under REVERT_BELOW); then learning restarts from the
        best."""
        collapsed = (not promoted and ci95 is not None and ci95[1] < REVERT_BELOW)
        if collapsed:
            log.warning("%s lost clearly to %s: learning goes on from the best", cand,
                        state["best"])
            state["learner"] = state["best"]
        else:
            state["learner"] = cand
            if cand not in state["pool"]:
                state["pool"].append(cand)
        return state["learner"]

    def write_ratings(self, state: dict) -> None:
        rows = [{"generation": int(k), "elo": round(v, 1),
                 "promoted": int(k) == 0 or any(h["generation"] == int(k) and h["promoted"]
                                                for h in state["history"])}
                for k, v in sorted(state["ratings"].items(), key=lambda kv: int(kv[0]))]
        write_json_atomic(self.dir / "ratings.json", rows)
        points = [(f"gen {r['generation']}", r["elo"], None, r["promoted"]) for r in rows]
        (self.dir / "ratings.svg").write_text(
            ratings_svg(points, "Elo by generation (filled: promoted to best)", connect=True))


class _Timed:
    """Adds a phase's wall and CPU seconds (this process and its finished local workers
    and gate engines; Ray workers elsewhere are not counted) to
    ``state["seconds"][generation][phase]``, also when the phase is interrupted (Ctrl-C,
    SIGTERM: the rerun adds the rest). Only a SIGKILL loses the part of the phase it cut."""

    def __init__(self, state: dict, g: int, phase: str):
        self.entry = state.setdefault("seconds", {}).setdefault(str(g), {})
        self.phase = phase

    @staticmethod
    def _cpu() -> float:
        import resource

        own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def __enter__(self):
        self.wall, self.cpu = time.time(), self._cpu()
        return self

    def __exit__(self, *exc):
        done = self.entry.setdefault(self.phase, {"wall_s": 0.0, "cpu_s": 0.0})
        done["wall_s"] = round(done["wall_s"] + time.time() - self.wall, 1)
        done["cpu_s"] = round(done["cpu_s"] + self._cpu() - self.cpu, 1)
        return False


def run_summary(run_dir: str | os.PathLike) -> dict:
    """What a run has bought: self-play games, wall and CPU hours by phase, and each
    generation's gate (wins, Wilson interval, Elo against the best with its interval,
    promotion) with the cumulative rating."""
    from alphago.ratings import wilson

    run = Path(run_dir)
    state = json.loads((run / "state.json").read_text())
    games = {}
    for done in sorted(run.glob("games/gen_*/task_*/done.json")):
        g = int(done.parent.parent.name.split("_")[1])
        games[g] = games.get(g, 0) + int(json.loads(done.read_text()).get("games", 0))
    seconds = state.get("seconds", {})
    totals: dict[str, dict[str, float]] = {}
    for phases in seconds.values():
        for phase, t in phases.items():
            tot = totals.setdefault(phase, {"wall_h": 0.0, "cpu_h": 0.0})
            tot["wall_h"] += t["wall_s"] / 3600
            tot["cpu_h"] += t["cpu_s"] / 3600
    rows = []
    for h in state["history"]:
        g, n = h["generation"], h["games"]
        lo, hi = wilson(h["wins"], n) if n else (0.0, 1.0)
        rows.append({"generation": g, "selfplay_games": games.get(g, 0), "gate_games": n,
                     "gate_wins": h["wins"], "winrate": h["winrate"], "ci95": [lo, hi],
                     "elo_vs_best": round(h["elo_vs_best"], 1),
                     "elo_ci95": [round(elo_from_p(min(max(x, 1e-3), 1 - 1e-3)), 1)
                                  for x in (lo, hi)],
                     "rating": round(state["ratings"].get(str(g), 0.0), 1),
                     "promoted": h["promoted"], "opponent": h["opponent"],
                     "learner": h.get("learner"),  # REINFORCE: the policy learning went on from
                     "seconds": seconds.get(str(g), {})})
    return {"generations": len(rows), "best": state["best"],
            "selfplay_games": sum(games.values()),
            "hours": {k: {x: round(v, 3) for x, v in t.items()} for k, t in totals.items()},
            "cpu_hours": round(sum(t["cpu_h"] for t in totals.values()), 3),
            "generation_results": rows}
