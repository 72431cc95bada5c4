"""The self-play RL loop: a tiny full run, Ray workers, and a kill in the middle."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from alphago import checkpoint, dataset, sgf
from alphago.rl import Loop, LoopConfig, _run_tasks, gate_opening_moves, train_window
from conftest import children_of, process_alive

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--board-size", "9", "--games-per-generation", "8", "--games-per-task", "4",
        "--train-steps", "8", "--batch-size", "16", "--gate-games", "4", "--gate-sprt", "off",
        "--init-filters", "8", "--init-depth", "1", "--max-moves", "100", "--seed", "1",
        "--device", "cpu"]


def run_loop(run_dir, *extra, wait=True):
    cmd = [sys.executable, str(ROOT / "scripts" / "rl_loop.py"), "--run-dir", str(run_dir),
           "--quiet", *TINY, *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def check_run(run_dir: Path, generations: int, games: int = 8):
    state = json.loads((run_dir / "state.json").read_text())
    assert state["generation"] == generations + 1 and state["phase"] == "selfplay"
    for g in range(1, generations + 1):
        gen = run_dir / "games" / f"gen_{g:04d}"
        sgfs = sorted(p.name for p in gen.glob("task_*/sgf/*.sgf"))
        assert len(sgfs) == len(set(sgfs)) == games  # none lost, none twice
        assert not list(gen.glob("*.partial"))
        shards = dataset.PositionShards([str(p.parent) for p in gen.glob("task_*/done.json")],
                                        "train", "basic", augment=False)
        assert len(np.unique(shards.data["game"])) <= games
        assert (run_dir / "models" / f"gen_{g:04d}.pt").exists()
        summary = json.loads((run_dir / "gates" / f"gen_{g:04d}" / "summary.json").read_text())
        assert summary["games"] == 4
        # gate pairs start from the first moves of this generation's self-play games
        k = gate_opening_moves(9)
        every = sgf.GameFilter(sizes=(9,), min_moves=0, dedup=False)
        heads = {tuple(r.moves[:k]) for r in sgf.load_games([str(gen)], every)}
        gate_games = list(sgf.load_games([str(run_dir / "gates" / f"gen_{g:04d}" / "sgf")],
                                         every))
        assert len(gate_games) == 4
        assert all(tuple(r.moves[:k]) in heads for r in gate_games)
    ratings = json.loads((run_dir / "ratings.json").read_text())
    assert [r["generation"] for r in ratings] == list(range(generations + 1))
    assert (run_dir / "ratings.svg").read_text().startswith("<svg")
    checkpoint.load_model(run_dir / "best.pt")
    # the run's summary: every generation's games, its gate with an interval, the hours
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "rl_loop.py"), "--run-dir",
                          str(run_dir), "--summary"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary == json.loads((run_dir / "summary.json").read_text())
    assert summary["generations"] == generations and summary["selfplay_games"] == games * generations
    for row in summary["generation_results"]:
        assert row["gate_games"] == 4 and row["ci95"][0] <= row["winrate"] <= row["ci95"][1]
        assert row["elo_ci95"][0] <= row["elo_vs_best"] <= row["elo_ci95"][1]
    assert summary["cpu_hours"] > 0 and set(summary["hours"]) == {"selfplay", "train", "gate"}
    return state


def test_tiny_loop_end_to_end(tmp_path):
    run = tmp_path / "rl"
    res = run_loop(run, "--generations", "1")
    assert res.returncode == 0, res.stderr[-2000:]
    state = check_run(run, 1)
    assert len(state["history"]) == 1 and "promoted" in state["history"][0]
    # REINFORCE goes on from the generation's model unless its gate says it collapsed
    assert state["history"][0]["learner"] in (state["best"], "models/gen_0001.pt")
    assert state["learner"] == state["history"][0]["learner"]
    # the best model plays through the GTP server
    gtp = subprocess.run([sys.executable, str(ROOT / "gtp_server.py"), "--model",
                          str(run / "best.pt"), "--size", "9", "--visits", "8"],
                         input="genmove b\nquit\n", capture_output=True, text=True, timeout=120)
    assert gtp.stdout.startswith("= ") and gtp.returncode == 0, gtp.stderr[-1000:]
    # asking for more generations resumes the same run; a KL term holds the learner near
    # generation 0
    res = run_loop(run, "--generations", "2", "--kl-weight", "0.5")
    assert res.returncode == 0, res.stderr[-2000:]
    check_run(run, 2)
    trained = [checkpoint.load_state(run / "train" / f"gen_000{g}" / "last.pt")
               ["extra"]["train_config"] for g in (1, 2)]
    assert trained[0]["kl_weight"] == 0.0 and trained[1]["kl_weight"] == 0.5
    assert trained[0]["kl_anchor"] == ""
    assert Path(trained[1]["kl_anchor"]) == run / "models" / "gen_0000.pt"


def test_reinforce_learner_goes_on_unless_clearly_weaker(tmp_path):
    tiny = dict(board_size=9, init_filters=8, init_depth=1, device="cpu")
    loop = Loop(tmp_path, LoopConfig(**tiny))
    state = loop.load_state()
    first = state["best"]
    assert loop.learner(state) == first and state["pool"] == [first]
    # not promoted, not clearly weaker: it goes on learning and joins the opponents
    cand = "models/gen_0001.pt"
    assert loop.next_learner(state, cand, False, (0.40, 0.60)) == cand
    assert loop.learner(state) == cand and state["pool"] == [first, cand]
    assert state["best"] == first
    # clearly weaker than the best: learning restarts from the best, the pool stays
    assert loop.next_learner(state, "models/gen_0002.pt", False, (0.20, 0.45)) == first
    assert loop.learner(state) == first and state["pool"] == [first, cand]
    # expert iteration always learns from the best (gated, as AlphaGo Zero)
    state["learner"] = cand
    assert Loop(tmp_path, LoopConfig(visits=8, **tiny)).learner(state) == first
    # REINFORCE is on-policy: its own generation's games; expert iteration: the last 4
    assert train_window(LoopConfig()) == 1
    assert train_window(LoopConfig(visits=8)) == 4
    assert train_window(LoopConfig(window=3)) == 3


def test_loop_resumes_after_sigkill_mid_generation(tmp_path):
    run = tmp_path / "rl"
    proc = run_loop(run, "--generations", "2", "--workers", "2", wait=False)
    deadline = time.time() + 300
    # kill it once the first self-play task of generation 2 is under way or done
    while time.time() < deadline and proc.poll() is None:
        if list((run / "games" / "gen_0002").glob("task_*")):
            break
        time.sleep(0.05)
    workers = children_of(proc.pid)
    assert workers, "the loop had no worker processes at the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # its pool's workers (and the pool's resource tracker) end with it
    deadline = time.time() + 20
    while time.time() < deadline and [p for p in workers if process_alive(p)]:
        time.sleep(0.1)
    assert not [p for p in workers if process_alive(p)], "orphaned workers survived the loop"
    res = run_loop(run, "--generations", "2", "--workers", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    check_run(run, 2)


def _stop_with_sigterm(proc, ready, what: str) -> None:
    """SIGTERM the loop once ``ready()``; it must end its workers or engines at once and
    exit 130, keeping the time the cut phase spent."""
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    time.sleep(0.5)
    kids = children_of(proc.pid)
    assert proc.poll() is None and kids, f"the loop had no {what} running at the signal"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    deadline = time.time() + 10
    while time.time() < deadline and [p for p in kids if process_alive(p)]:
        time.sleep(0.1)
    assert not [p for p in kids if process_alive(p)], f"{what} survived the loop"


def test_sigterm_stops_the_loop_cleanly_and_keeps_its_time(tmp_path):
    run = tmp_path / "rl"
    # 16 tasks: the signal (sent once the first task is done) must find self-play running
    args = ("--generations", "1", "--workers", "2", "--gate-games", "12",
            "--games-per-generation", "64")

    def state():
        return json.loads((run / "state.json").read_text())

    proc = run_loop(run, *args, wait=False)
    _stop_with_sigterm(proc, lambda: list((run / "games" / "gen_0001").glob("task_*")),
                       "self-play workers")
    cut = state()
    assert cut["phase"] == "selfplay" and cut["seconds"]["1"]["selfplay"]["wall_s"] > 0
    proc = run_loop(run, *args, wait=False)  # resumes; stopped again in its gate
    _stop_with_sigterm(proc, lambda: (run / "gates" / "gen_0001").exists(), "gate engines")
    cut = state()
    assert cut["phase"] == "gate" and cut["history"] == []
    assert cut["seconds"]["1"]["gate"]["wall_s"] > 0
    spent = cut["seconds"]["1"]["selfplay"]["wall_s"]
    records = (run / "gates" / "gen_0001" / "games.jsonl")
    for line in records.read_text().splitlines() if records.exists() else []:
        assert json.loads(line)["result"]  # whole games only
    res = run_loop(run, *args)
    assert res.returncode == 0, res.stderr[-2000:]
    done = state()
    assert done["generation"] == 2 and len(done["history"]) == 1
    assert done["history"][0]["games"] == 12
    assert done["seconds"]["1"]["selfplay"]["wall_s"] == spent
    assert done["seconds"]["1"]["gate"]["wall_s"] > cut["seconds"]["1"]["gate"]["wall_s"]


def test_bad_loop_options_are_clear_errors(tmp_path):
    res = run_loop(tmp_path / "x", "--generations", "0")
    assert res.returncode == 2 and "--generations must be >= 1" in res.stderr
    res = run_loop(tmp_path / "y", "--gate-sprt", "1,2")
    assert res.returncode == 2 and "four numbers" in res.stderr
    res = run_loop(tmp_path / "z", "--kl-weight", "-1")
    assert res.returncode == 2 and "--kl-weight must be >= 0" in res.stderr
    res = run_loop(tmp_path / "v", "--value-weight", "-0.5")
    assert res.returncode == 2 and "--value-weight must be >= 0" in res.stderr
    res = run_loop(tmp_path / "w", "--cheap-visits", "4")
    assert res.returncode == 2 and "--cheap-visits needs --visits > 0" in res.stderr
    res = run_loop(tmp_path / "n", "--visits", "8", "--root-noise", "1.5")
    assert res.returncode == 2 and "--root-noise must be within 0..1" in res.stderr
    res = run_loop(tmp_path / "q", "--visits", "8", "--value-q-weight", "1.5")
    assert res.returncode == 2 and "--value-q-weight must be within 0..1" in res.stderr
    res = run_loop(tmp_path / "r", "--value-q-weight", "0.5")
    assert res.returncode == 2 and "--value-q-weight needs search self-play" in res.stderr


def test_ray_local_two_workers(tmp_path):
    pytest.importorskip("ray")
    import ray

    loop = Loop(tmp_path / "rl", LoopConfig(board_size=7, init_filters=4, init_depth=1))
    state = loop.load_state()
    model = str(loop.dir / state["best"])
    specs = [{"out": str(tmp_path / f"task_{k}"), "games": 2, "size": 7, "komi": 0.5,
              "max_moves": 60, "seed": k, "model": model, "opponent": model, "visits": 0,
              "device": "cpu", "prefix": "t", "first_id": 100 * k} for k in range(2)]
    cfg = LoopConfig(board_size=7, workers=2, ray_address="local")
    try:
        results = _run_tasks(specs, cfg)
    finally:
        ray.shutdown()
    assert [r["games"] for r in results] == [2, 2]
    for k in range(2):
        assert (tmp_path / f"task_{k}" / "done.json").exists()
        assert len(list((tmp_path / f"task_{k}" / "sgf").glob("*.sgf"))) == 2


def test_gate_engine_plays_as_search_self_play_does(tmp_path):
    """The gate's GTP engine is self-play's player: its search options (value only, no
    rollouts, resignation) and pass rule are those of search self-play."""
    import shlex

    from alphago.cli import gtp as gtp_cli
    from alphago.player import MCTSPlayer
    from alphago.selfplay import SearchSelfPlayConfig

    loop = Loop(tmp_path / "run", LoopConfig(board_size=9, visits=24, device="cpu"))
    model = tmp_path / "m.pt"
    from alphago.config import ModelConfig
    from alphago.model import build_model

    checkpoint.save(model, build_model(ModelConfig(board_size=9, filters=8, depth=1,
                                                   heads="both")))
    argv = shlex.split(loop.engine_command(model, 3))
    assert argv[1:3] == ["-m", "alphago.cli.gtp"]
    o = gtp_cli.resolve_options(gtp_cli.build_parser(), argv[3:])
    sp = SearchSelfPlayConfig()
    s = o["search"]
    assert (s.visits, s.rollouts, s.resign_threshold) == (24, sp.rollouts, sp.resign_threshold)
    assert s.mix_lambda == sp.mix_lambda
    player = gtp_cli.build_player(o)
    assert isinstance(player, MCTSPlayer) and player.playout_rules


def test_expert_iteration_trains_a_dual_net(tmp_path):
    """Expert iteration's net has a value head from the start (a fresh net, or a policy
    net given with --init-model), and training moves that head."""
    import torch

    from alphago.config import ModelConfig
    from alphago.model import build_model

    run = tmp_path / "rl"
    res = run_loop(run, "--generations", "1", "--visits", "8", "--cheap-visits", "2",
                   "--full-fraction", "0.5", "--prune-targets", "--value-q-weight", "0.5")
    assert res.returncode == 0, res.stderr[-2000:]
    stored = json.loads((run / "config.json").read_text())
    assert stored["prune_targets"] is True and stored["value_q_weight"] == 0.5
    # playout-cap randomisation: positions of full searches carry a visit distribution,
    # those of cheap ones none (they train the value only); all carry the root value
    shards = [np.load(p) for p in run.glob("games/gen_0001/task_*/*/*.npz")]
    pi = np.concatenate([z["pi_moves"] for z in shards])
    has = (pi >= 0).any(1)
    assert 0 < has.sum() < len(has)
    q = np.concatenate([z["q"] for z in shards]).astype(np.float32)
    assert len(q) == len(pi) and np.isfinite(q).all() and (np.abs(q) <= 1).all()
    first, _ = checkpoint.load_model(run / "models" / "gen_0000.pt")
    trained, _ = checkpoint.load_model(run / "models" / "gen_0001.pt")
    assert first.cfg.heads == trained.cfg.heads == "both"
    assert not torch.equal(first.value_fc2.weight, trained.value_fc2.weight)
    policy_net = tmp_path / "policy.pt"
    checkpoint.save(policy_net, build_model(ModelConfig(board_size=9, filters=8, depth=1)))
    loop = Loop(tmp_path / "rl2", LoopConfig(board_size=9, visits=8, device="cpu",
                                              init_model=str(policy_net)))
    loop.load_state()
    grown, _ = checkpoint.load_model(tmp_path / "rl2" / "models" / "gen_0000.pt")
    assert grown.cfg.heads == "both"


def test_replay_shards_join_expert_iteration_training(tmp_path, monkeypatch, capsys):
    """--replay-shards: folders of played games pooled with the self-play window in every
    generation's training; and clear errors for a REINFORCE run, a folder without shards
    and games of another board size."""
    import alphago.train as train_mod
    from alphago.cli.rl_loop import main
    from alphago.evaluator import UniformEvaluator
    from alphago.selfplay import SelfPlayConfig, play_games, write_games

    rec = tmp_path / "rec"
    sp = SelfPlayConfig(games=2, size=9, seed=2, max_moves=30)
    write_games(play_games(UniformEvaluator(), sp), sp, rec, val_fraction=0.0)
    loop = Loop(tmp_path / "rl", LoopConfig(
        board_size=9, visits=4, games_per_generation=2, games_per_task=2, train_steps=2,
        batch_size=8, init_filters=8, init_depth=1, max_moves=30, device="cpu", workers=1,
        replay_shards=(str(rec),)))
    state = loop.load_state()
    loop.selfplay(1, state)
    seen = []
    real = train_mod.train

    def spy(dirs, *args, **kwargs):
        seen.append(list(dirs))
        return real(dirs, *args, **kwargs)

    monkeypatch.setattr(train_mod, "train", spy)
    loop.train(1, state)
    assert seen and seen[0][-1] == str(rec) and len(seen[0]) == 2
    assert (tmp_path / "rl" / "models" / "gen_0001.pt").exists()
    base = ["--run-dir", str(tmp_path / "bad"), "--board-size", "9"]
    for extra, message in [(["--replay-shards", str(rec)], "needs expert iteration"),
                           (["--visits", "4", "--replay-shards", str(tmp_path)],
                            "no train shards"),
                           (["--board-size", "13", "--visits", "4", "--replay-shards",
                             str(rec)], "9x9 games")]:
        with pytest.raises(SystemExit):
            main(base + extra)
        assert message in capsys.readouterr().err
