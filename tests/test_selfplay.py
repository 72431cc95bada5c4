import numpy as np
import pytest
import torch

from alphago import dataset, sgf
from alphago.config import ModelConfig, TrainConfig
from alphago.evaluator import TorchEvaluator, UniformEvaluator
from alphago.model import build_model
from alphago.selfplay import SelfPlayConfig, play_games, write_games
from alphago.train import train


def test_batched_selfplay_writes_sgfs_and_shards(tmp_path):
    cfg = SelfPlayConfig(games=6, size=7, komi=0.5, seed=3)
    torch.manual_seed(0)
    net = TorchEvaluator(build_model(ModelConfig(board_size=7, filters=8, depth=1)), "cpu")
    games = play_games(net, cfg, UniformEvaluator(), names=("net", "uniform"))
    assert len(games) == 6
    assert {g.black for g in games} == {"net", "uniform"}  # colours alternate
    for g in games:
        final = sgf.GameRecord("x", 7, 0.5, 0, g.result, g.moves).final_position(superko=True)
        assert final.passes >= 2 or len(g.moves) >= 98
        assert g.winner in (1, 2)  # komi 0.5: no draws
    info = write_games(games, cfg, tmp_path)
    assert info["black_wins"] + info["white_wins"] == 6
    assert len(list((tmp_path / "sgf").glob("*.sgf"))) == 6
    total = sum(info["positions"].values())
    assert total == sum(len(g.moves) for g in games)
    shards = dataset.PositionShards(tmp_path, "train", "basic", augment=False)
    assert shards.size == 7 and set(np.unique(shards.data["outcome"])) <= {-1, 1}
    ids, counts = np.unique(shards.data["game"], return_counts=True)
    per_game = dataset.PositionShards(tmp_path, "train", "basic", per_game=1)
    assert len(per_game) == len(ids) and set(per_game.data["game"]) == set(ids)
    three = dataset.PositionShards(tmp_path, "train", "basic", per_game=3, seed=5)
    assert len(three) == np.minimum(counts, 3).sum()
    _, kept = np.unique(three.data["game"], return_counts=True)
    assert kept.max() <= 3
    idx = dataset._indices_per_game(shards.data["game"], 3, np.random.default_rng(1))
    assert len(np.unique(idx)) == len(idx)  # drawn without replacement
    assert (np.bincount(shards.data["game"][idx]) <= 3).all()


def test_per_game_keeps_folders_that_reuse_game_ids_apart(tmp_path):
    for name, seed in (("a", 3), ("b", 4)):  # the same first id, another seed: ids collide
        cfg = SelfPlayConfig(games=4, size=7, komi=0.5, seed=seed)
        write_games(play_games(UniformEvaluator(), cfg), cfg, tmp_path / name)
    one = dataset.PositionShards(tmp_path / "a", "train", "basic", per_game=1)
    both = dataset.PositionShards([tmp_path / "a", tmp_path / "b"], "train", "basic",
                                  per_game=1)
    ids_a = set(one.data["game"])
    assert set(both.data["game"]) == ids_a  # the same ids in both folders
    assert len(both) == 2 * len(one) == 2 * len(ids_a)  # yet one position per game each
    assert len(np.unique(both.game_keys())) == len(both)
    every = dataset.PositionShards([tmp_path / "a", tmp_path / "b"], "train", "basic")
    keys = every.game_keys()
    assert len(np.unique(keys)) == 2 * len(ids_a)
    for k in np.unique(keys):  # a key is one game: one id, one run of positions
        assert len(np.unique(every.data["game"][keys == k])) == 1


def test_value_net_trains_on_one_position_per_game(tmp_path):
    cfg = SelfPlayConfig(games=24, size=7, komi=0.5, seed=4)
    games = play_games(UniformEvaluator(), cfg)
    write_games(games, cfg, tmp_path / "sp", val_fraction=0.3)
    mcfg = ModelConfig(board_size=7, filters=8, depth=1, heads="value")
    tcfg = TrainConfig(batch_size=4, total_steps=20, eval_every=10, eval_positions=50,
                       checkpoint_every=10, workers=0, positions_per_game=1)
    res = train(str(tmp_path / "sp"), str(tmp_path / "run"), mcfg, tcfg, "cpu", progress=False)
    assert res.step == 20 and 0 <= res.metrics["val"]["value_mse"] <= 4
    # a value-only net keeps its lowest validation MSE as best.pt
    import csv

    from alphago import checkpoint

    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    best = checkpoint.load_state(tmp_path / "run" / "best.pt")
    assert best["extra"]["val"]["value_mse"] == pytest.approx(
        min(float(r["val_value_mse"]) for r in rows), abs=1e-4)


def test_reinforce_loss_follows_the_outcome_minus_a_baseline():
    import torch.nn.functional as F

    from alphago.train import _losses

    torch.manual_seed(0)
    model = build_model(ModelConfig(board_size=5, filters=4, depth=1))
    planes = torch.rand(6, 16, 5, 5)
    moves = torch.randint(0, 26, (6,))
    z = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, 1.0])  # batch mean 1/3 is the baseline
    ce = F.cross_entropy(model(planes)[0], moves, reduction="none")
    loss, _ = _losses(model, planes, moves, z, model.cfg, 1.0, reinforce=True)
    assert loss.item() == pytest.approx(((z - z.mean()) * ce).mean().item(), rel=1e-5)
    same, _ = _losses(model, planes, moves, torch.ones(6), model.cfg, 1.0, reinforce=True)
    assert same.item() == pytest.approx(0.0, abs=1e-6)  # no better than expected: no push
    both = build_model(ModelConfig(board_size=5, filters=4, depth=1, heads="both"))
    logits, value = both(planes)
    ce2 = F.cross_entropy(logits, moves, reduction="none")
    loss2, parts = _losses(both, planes, moves, z, both.cfg, 0.0, reinforce=True)
    # the value head is the baseline (and gets no policy gradient through it)
    assert parts["policy_loss"].item() == pytest.approx(
        ((z - value.detach()) * ce2).mean().item(), rel=1e-5)


def test_learner_only_shards_keep_the_learners_moves(tmp_path):
    cfg = SelfPlayConfig(games=4, size=7, komi=0.5, seed=6)
    games = play_games(UniformEvaluator(), cfg, UniformEvaluator(), names=("me", "them"))
    info = write_games(games, cfg, tmp_path, val_fraction=0.0, learner="me")
    shards = dataset.PositionShards(tmp_path, "train", "basic", augment=False)
    expected = 0
    for g in games:
        colour = 1 if g.black == "me" else 2
        expected += sum(1 for c, _ in g.moves if c == colour)
    assert len(shards) == expected == info["positions"]["train"]
    # every kept position is one where "me" was to move
    ids = np.unique(shards.data["game"])
    for gid in ids:
        rows = shards.data["game"] == gid
        colour = 1 if games[gid].black == "me" else 2
        assert (shards.data["to_move"][rows] == colour).all()


def test_search_selfplay_games_and_resign_bookkeeping(tmp_path):
    from alphago.selfplay import SearchSelfPlayConfig, play_search_games, resign_false_positives

    cfg = SelfPlayConfig(games=2, size=5, komi=0.5, seed=2, max_moves=40)
    scfg = SearchSelfPlayConfig(visits=8, no_resign_fraction=1.0, rollouts=True)
    games = play_search_games(UniformEvaluator(), cfg, scfg)
    assert len(games) == 2 and all(not g.resign_allowed for g in games)
    for g in games:
        assert g.result and len(g.moves) <= 40
        assert g.winner in (1, 2)
    stats = resign_false_positives(games)
    assert stats["no_resign_games"] == 2 and 0 <= stats["false_positives"] <= \
        stats["would_resign"]
    info = write_games(games, cfg, tmp_path)
    assert info["resign"]["no_resign_games"] == 2


def test_self_play_and_the_gate_play_with_one_player(tmp_path):
    """Self-play's moves are those of PolicyPlayer(playout_rules=True), the player the RL
    loop's gate starts (alphago-gtp --policy-only --playout-rules)."""
    import shlex

    from alphago import shipped
    from alphago.board import Position
    from alphago.cli import gtp as cli
    from alphago.evaluator import sample_move
    from alphago.player import PolicyPlayer, playout_mask
    from alphago.rl import Loop, LoopConfig

    cfg = SelfPlayConfig(games=1, size=9, seed=5, max_moves=60)
    game = play_games(UniformEvaluator(), cfg)[0]
    rng = np.random.default_rng(5)
    player = PolicyPlayer(UniformEvaluator(), 1.0, rng, playout_rules=True)
    pos = Position(9, cfg.komi, superko=True)
    while pos.passes < 2 and pos.move_number < 60:
        pos.play(sample_move(player.move_priors([pos])[0], 1.0, rng))
    assert pos.moves == game.moves
    # pass only when nothing sensible is left
    assert playout_mask(Position(9))[81] == 0
    command = Loop(tmp_path, LoopConfig(board_size=9)).engine_command(shipped.POLICY_SL, 3)
    argv = shlex.split(command)[3:]  # after "python -m alphago.cli.gtp"
    o = cli.resolve_options(cli.build_parser(), argv)
    gate_player = cli.build_player(o)
    assert isinstance(gate_player, PolicyPlayer) and gate_player.playout_rules
    assert gate_player.temperature == 1.0


def test_search_self_play_stores_visit_distributions_and_trains_on_them(tmp_path):
    """Expert iteration's data: every position's root visit shares in the shards, read
    back as policy targets (in the net's frame under each symmetry), and a training step
    on them that lowers the loss against those targets."""
    from alphago.selfplay import SearchSelfPlayConfig, play_search_games

    cfg = SelfPlayConfig(games=2, size=9, seed=3, max_moves=40)
    games = play_search_games(UniformEvaluator(), cfg, SearchSelfPlayConfig(visits=16))
    for g in games:
        assert len(g.visit_targets) == len(g.moves)
        for (_, move), dist in zip(g.moves, g.visit_targets):
            assert abs(sum(dist.values()) - 1) < 1e-6 and move in dist
    write_games(games, cfg, tmp_path / "sp", val_fraction=0.0)
    data = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=True)
    assert data.has_targets
    planes, moves, outcomes, targets = data.batch(np.arange(len(data)),
                                                 np.random.default_rng(0), targets=True)
    assert targets.shape == (len(data), 82) and np.allclose(targets.sum(1), 1, atol=1e-2)
    assert (targets[np.arange(len(data)), moves] > 0).all()  # the move played was visited
    # without augmentation the targets are the stored shares, position by position
    plain = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=False)
    first = plain.batch(np.arange(1), targets=True)[3][0]
    expect = games[0].visit_targets[0]
    top = sorted(expect.items(), key=lambda kv: -kv[1])[:dataset.PI_TOP]
    total = sum(p for _, p in top)
    for m, p in top:
        assert abs(first[m] - p / total) < 2e-3
    # shards without visit targets give the played move as a one-hot target
    pro = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=False)
    pro.has_targets = False
    onehot = pro.batch(np.arange(5), targets=True)[3]
    assert (onehot.sum(1) == 1).all()
    # training on the visit targets
    torch.manual_seed(0)
    net = build_model(ModelConfig(board_size=9, filters=8, depth=1, heads="both"))
    tcfg = TrainConfig(batch_size=16, lr=0.05, total_steps=30, warmup_steps=0, eval_every=30,
                       checkpoint_every=30, visit_targets=True, workers=0,
                       eval_positions=100)
    from alphago import checkpoint

    checkpoint.save(tmp_path / "init.pt", net)
    res = train(str(tmp_path / "sp"), str(tmp_path / "run"), net.cfg, tcfg, "cpu",
                init_from=str(tmp_path / "init.pt"), progress=False)
    assert res.step == 30
    from alphago.train import _losses

    trained, _ = checkpoint.load_model(tmp_path / "run" / "last.pt")
    x = torch.from_numpy(planes).float()
    t = torch.from_numpy(targets)
    with torch.no_grad():
        before = _losses(net.eval(), x, torch.from_numpy(moves), torch.from_numpy(outcomes),
                         net.cfg, 1.0, targets=t)[1]["policy_loss"]
        after = _losses(trained.eval(), x, torch.from_numpy(moves), torch.from_numpy(outcomes),
                        trained.cfg, 1.0, targets=t)[1]["policy_loss"]
    assert after < before


def test_search_player_under_self_play_rules_passes_only_when_nothing_is_left():
    """The search self-play pass rule, which the RL gate's engine plays with too: after the
    opponent's pass, a player that wins as the board stands passes by default but plays
    on under the rule while a sensible move is left; with none left it passes."""
    from alphago.board import Position
    from alphago.config import SearchConfig
    from alphago.player import MCTSPlayer
    from alphago.selfplay import visit_distribution

    def black_wall(points):
        pos = Position(5, komi=0.5)
        for p in points:
            pos.play(p)
            pos.play(pos.pass_move)  # white passes every time
        return pos

    wall = black_wall([r * 5 + 1 for r in range(5)])  # column 1: black owns the board
    cfg = SearchConfig(visits=32, rollouts=True, mix_lambda=1.0, seed=1)  # random playouts
    default = MCTSPlayer(UniformEvaluator(), cfg)
    ruled = MCTSPlayer(UniformEvaluator(), cfg, playout_rules=True)
    assert default.genmove(wall).move == wall.pass_move
    res = ruled.genmove(wall)
    assert res.move != wall.pass_move and wall.sensible_moves()[res.move]
    dist = visit_distribution(res, wall.pass_move)
    assert wall.pass_move not in dist and abs(sum(dist.values()) - 1) < 1e-9
    # two true eyes and nothing else empty: no sensible move, so a pass
    eyes = black_wall([p for p in range(25) if p not in (0, 12)])
    assert not eyes.sensible_moves()[:25].any()
    assert ruled.genmove(eyes).move == eyes.pass_move


def test_eval_value_compares_nets_on_the_same_positions(tmp_path, capsys):
    import json

    from alphago import checkpoint, train_eval
    from alphago.cli import eval_value

    cfg = SelfPlayConfig(games=12, size=7, komi=0.5, seed=6)
    write_games(play_games(UniformEvaluator(), cfg), cfg, tmp_path / "sp", val_fraction=0.3)
    torch.manual_seed(1)
    paths = []
    for k, heads in enumerate(("value", "both")):
        paths.append(tmp_path / f"net{k}.pt")
        checkpoint.save(paths[-1], build_model(ModelConfig(board_size=7, filters=8, depth=1,
                                                           heads=heads)))
    argv = ["--shards", str(tmp_path / "sp"), "--per-game", "3", "--json"]
    assert eval_value.main(argv + ["--model", str(paths[0]), "--model", str(paths[1])]) == 0
    out = json.loads(capsys.readouterr().out)
    first, second = out[str(paths[0])], out[str(paths[1])]
    assert first["games"] == 12 and first["positions"] == second["positions"] <= 36
    # the difference is the two MSEs' difference, on the same positions
    assert second["diff_vs_first"] == pytest.approx(second["value_mse"] - first["value_mse"],
                                                    abs=2e-4)
    assert first["se"] > 0 and second["diff_se"] > 0
    # each MSE is the plain mean of the per-position squared errors
    net, _ = checkpoint.load_model(paths[1])
    errs = [train_eval.value_errors(net, dataset.PositionShards(
        tmp_path / "sp", split, "basic", augment=False, per_game=3, seed=1), torch.device("cpu"))
        for split in ("train", "val")]
    assert second["value_mse"] == pytest.approx(float(np.nanmean(np.concatenate(errs))),
                                                abs=1e-4)
    # evaluating leaves the net in the mode it was in
    val = dataset.PositionShards(tmp_path / "sp", "val", "basic", augment=False, per_game=3, seed=1)
    for training in (False, True):
        net.train(training)
        train_eval.value_errors(net, val, torch.device("cpu"))
        assert net.training is training
    # a net compared with itself differs by exactly nothing
    assert eval_value.main(argv + ["--model", str(paths[0]), "--model", str(paths[0])]) == 0
    same = json.loads(capsys.readouterr().out)[str(paths[0])]
    assert same["value_mse"] == first["value_mse"] and same["diff_vs_first"] == 0
    # --split val: the held-out games alone, the val errors above
    assert eval_value.main(argv + ["--split", "val", "--model", str(paths[1])]) == 0
    held = json.loads(capsys.readouterr().out)[str(paths[1])]
    assert held["positions"] == int(np.sum(~np.isnan(errs[1])))
    assert held["value_mse"] == pytest.approx(float(np.nanmean(errs[1])), abs=1e-4)
    assert held["positions"] < first["positions"]
    with pytest.raises(SystemExit):
        eval_value.main(["--shards", str(tmp_path / "nowhere"), "--model", str(paths[0])])


def test_eval_value_by_move_number_splits_the_same_errors(tmp_path, capsys):
    """--by-ply: each position's move number comes from its place in its game, the
    buckets partition the positions, and each bucket's MSE is its positions' mean."""
    import json

    from alphago import checkpoint, train_eval
    from alphago.cli import eval_value

    cfg = SelfPlayConfig(games=6, size=7, komi=0.5, seed=8)
    games = play_games(UniformEvaluator(), cfg)
    write_games(games, cfg, tmp_path / "sp", val_fraction=0.0)
    d = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=False, plies=True)
    lengths = [len(g.moves) for g in games]
    assert list(d.data["ply"]) == [k for n in lengths for k in range(n)]
    sampled = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=False,
                                     per_game=5, seed=3, plies=True)
    keys = sampled.game_keys()
    for key in np.unique(keys):  # the sampled positions keep their own move numbers
        mine = sampled.data["ply"][keys == key]
        assert len(mine) == 5 and len(set(mine.tolist())) == 5
    torch.manual_seed(2)
    path = tmp_path / "net.pt"
    checkpoint.save(path, build_model(ModelConfig(board_size=7, filters=8, depth=1,
                                                  heads="value")))
    argv = ["--shards", str(tmp_path / "sp"), "--per-game", "0", "--json", "--model",
            str(path), "--model", str(path)]
    assert eval_value.main(argv + ["--by-ply", "0,10,20"]) == 0
    out = json.loads(capsys.readouterr().out)[str(path)]
    rows = out["by_ply"]
    assert [r["plies"] for r in rows] == ["0-9", "10-19", "20+"]
    assert sum(r["positions"] for r in rows) == out["positions"]
    errs = train_eval.value_errors(checkpoint.load_model(path)[0], d, torch.device("cpu"))
    plies = d.data["ply"]
    for r, (lo, hi) in zip(rows, ((0, 10), (10, 20), (20, 10**9))):
        inside = (plies >= lo) & (plies < hi)
        assert r["value_mse"] == pytest.approx(float(np.nanmean(errs[inside])), abs=1e-4)
        assert r["diff_vs_first"] == 0
    # a bucket no game reaches is reported empty; malformed edges are a usage error
    assert eval_value.main(argv + ["--by-ply", "0,1000"]) == 0
    assert json.loads(capsys.readouterr().out)[str(path)]["by_ply"][1] == {
        "plies": "1000+", "positions": 0}
    for bad in ("10,20", "0,20,20", "0,x"):
        with pytest.raises(SystemExit):
            eval_value.main(argv + ["--by-ply", bad])
    capsys.readouterr()
    text = [a for a in argv if a != "--json"]
    assert eval_value.main(text + ["--by-ply", "0,10"]) == 0  # the text form
    assert "moves       0-9:" in capsys.readouterr().out


def test_self_play_continues_from_given_positions():
    cfg = SelfPlayConfig(games=1, size=7, komi=0.5, seed=2, greedy_after=4)
    from alphago.board import Position

    start = Position(7, 0.5, superko=True)
    for p in (8, 40, 16):
        start.play(p)
    games = play_games(UniformEvaluator(), cfg, starts=[start, start, start])
    assert len(games) == 3 and start.move_number == 3  # the start itself is left alone
    for g in games:
        assert [p for _, p in g.moves[:3]] == [8, 40, 16] and len(g.moves) > 3
        assert g.winner in (1, 2)


def test_outcome_noise_floor_from_replays(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    try:
        import outcome_noise
    finally:
        sys.path.remove(str(root / "scripts"))
    # p = 1, 1/2, 0 with two replays: 4 p (1 - p) x 2 / 1 = 0, 2, 0
    wins = np.array([[1, 1], [1, 0], [0, 0]], float)
    assert outcome_noise.floor_per_position(wins).tolist() == [0.0, 2.0, 0.0]
    # p = 3/4 with four replays: 4 x 3/16 x 4/3 = 1
    assert outcome_noise.floor_per_position(np.array([[1, 1, 1, 0.0]])) == pytest.approx(1.0)
    cfg = SelfPlayConfig(games=6, size=7, komi=0.5, seed=8)
    write_games(play_games(UniformEvaluator(), cfg), cfg, tmp_path / "sp")
    net = tmp_path / "net.pt"
    from alphago import checkpoint

    checkpoint.save(net, build_model(ModelConfig(board_size=7, filters=8, depth=1)))
    res = subprocess.run([sys.executable, str(root / "scripts" / "outcome_noise.py"),
                          str(tmp_path / "sp" / "sgf"), "--model", str(net), "--device", "cpu",
                          "--replays", "3", "--json"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["positions"] == 6 and out["replays"] == 3
    assert 0 <= out["all"]["mse_floor"] <= 1.5  # 4 p (1 - p) x 3/2 is at most 1.5


def test_playout_cap_randomisation_records_policy_targets_of_full_searches_only(
        tmp_path, monkeypatch):
    """KataGo's playout-cap randomisation: a share of the moves gets the full search (with
    noise) and a visit-distribution target; the rest a cheap search without noise, whose
    positions train the value only (zero policy-target rows, left out of the policy loss)."""
    from alphago.player import MCTSPlayer
    from alphago.selfplay import SearchSelfPlayConfig, play_search_games, playout_cap_error
    from alphago.train import _losses

    calls = []
    genmove = MCTSPlayer.genmove

    def spy(self, pos, *args, **kwargs):
        calls.append((kwargs.get("visits"), kwargs.get("noise")))
        return genmove(self, pos, *args, **kwargs)

    monkeypatch.setattr(MCTSPlayer, "genmove", spy)
    cfg = SelfPlayConfig(games=2, size=7, seed=4, max_moves=60)
    scfg = SearchSelfPlayConfig(visits=16, cheap_visits=4, full_fraction=0.3)
    games = play_search_games(UniformEvaluator(), cfg, scfg)
    targets = [d for g in games for d in g.visit_targets]
    assert len(calls) == len(targets) == sum(len(g.moves) for g in games) > 40
    full = [bool(d) for d in targets]
    # a full search: the loop's visits with noise; a cheap one: cheap_visits, no noise
    assert all(c == (None, scfg.noise) if f else c == (4, 0.0) for c, f in zip(calls, full))
    assert 0.1 < np.mean(full) < 0.6  # about full_fraction of the moves
    write_games(games, cfg, tmp_path / "sp", val_fraction=0.0)
    data = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=False)
    planes, moves, outcomes, dense = data.batch(np.arange(len(data)), targets=True)
    rows = np.flatnonzero(dense.sum(1) > 0)
    assert len(rows) == sum(full) and np.allclose(dense[rows].sum(1), 1, atol=1e-2)
    # the policy loss is that of the full-search rows alone; the value loss counts all rows
    torch.manual_seed(0)
    net = build_model(ModelConfig(board_size=7, filters=8, depth=1, heads="both")).eval()
    args = [torch.from_numpy(planes).float(), torch.from_numpy(moves), torch.from_numpy(outcomes)]
    with torch.no_grad():
        every = _losses(net, *args, net.cfg, 1.0, targets=torch.from_numpy(dense))[1]
        only = _losses(net, *(a[rows] for a in args), net.cfg, 1.0,
                       targets=torch.from_numpy(dense[rows]))[1]
    assert torch.isclose(every["policy_loss"], only["policy_loss"], atol=1e-5)
    assert not torch.isclose(every["value_mse"], only["value_mse"])
    # every move a full search when the share is 1; the settings are checked
    one = play_search_games(UniformEvaluator(), SelfPlayConfig(games=1, size=7, seed=4,
                                                               max_moves=20),
                            SearchSelfPlayConfig(visits=8, cheap_visits=2, full_fraction=1.0))
    assert all(one[0].visit_targets)
    assert playout_cap_error(16, None, 0.0) is None
    assert playout_cap_error(16, 4, 0.25) is None
    assert "visits" in playout_cap_error(0, 4, 0.25)
    assert "cheap" in playout_cap_error(16, 16, 0.25)
    assert "fraction" in playout_cap_error(16, 4, 0.0)


def test_root_noise_weight_reaches_the_full_searches_only():
    """--root-noise: the loop's setting reaches search self-play, whose full searches get
    that weight (0: targets from noise-free searches) and whose cheap ones get none."""
    from alphago.player import MCTSPlayer
    from alphago.rl import LoopConfig
    from alphago.selfplay import play_search_games

    scfg = LoopConfig(visits=12, cheap_visits=3, full_fraction=0.5,
                      root_noise=0.0).search_selfplay()
    assert scfg.noise == 0.0 and LoopConfig(visits=12).search_selfplay().noise == 0.25
    seen = []
    genmove = MCTSPlayer.genmove

    def spy(self, pos, *args, **kwargs):
        seen.append((kwargs.get("visits"), kwargs.get("noise")))
        return genmove(self, pos, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MCTSPlayer, "genmove", spy)
        games = play_search_games(UniformEvaluator(), SelfPlayConfig(games=1, size=7, seed=2,
                                                                     max_moves=20), scfg)
    full = [bool(t) for t in games[0].visit_targets]
    assert any(full) and not all(full)
    assert all(n == 0.0 for _, n in seen)
    assert all(v == (None if f else 3) for (v, _), f in zip(seen, full))


def test_policy_target_pruning_on_hand_computed_search_results():
    """KataGo's target pruning under Q + c P sqrt(N) / (1 + n), c = 5, N = 151: the most
    visited move A (Q 0.2, P 0.5, 100 visits) scores 0.2 + 5 * 0.5 * sqrt(151) / 101 =
    0.50416. B (Q -0.4, P 0.4, 40 visits) keeps ceil(5 * 0.4 * sqrt(151) / 0.90416 - 1) = 27;
    C (Q 0.18, P 0.02) ceil(1.2288 / 0.32416 - 1) = 3 of its 10; D (P 0.01, one visit) keeps
    1 and drops out."""
    from alphago.mcts import MoveInfo, SearchResult
    from alphago.selfplay import pruned_visits, visit_distribution

    def info(move, visits, q, prior):
        return MoveInfo(move, visits, (q + 1) / 2, prior, 0.0, [move])

    cands = [info(0, 100, 0.2, 0.5), info(1, 40, -0.4, 0.4), info(2, 10, 0.18, 0.02),
             info(3, 1, 0.0, 0.01)]
    assert pruned_visits(cands, 5.0) == {0: 100, 1: 27, 2: 3}
    # E, whose value (0.6) is above A's score (0.2 + 5 * 0.5 * sqrt(106) / 101), keeps all
    cands2 = [info(0, 100, 0.2, 0.5), info(5, 6, 0.6, 0.05)]
    assert pruned_visits(cands2, 5.0) == {0: 100, 5: 6}
    res = SearchResult(0, 0.6, 151, cands, 0.0)
    dist = visit_distribution(res, prune_c_puct=5.0)
    assert dist == pytest.approx({0: 100 / 130, 1: 27 / 130, 2: 3 / 130})
    assert visit_distribution(res) == pytest.approx({0: 100 / 151, 1: 40 / 151, 2: 10 / 151,
                                                     3: 1 / 151})
    # the move played stays in the target even when pruning would take it out
    res.move = 3
    assert visit_distribution(res, prune_c_puct=5.0) == {3: 1.0}


def test_search_self_play_with_pruned_targets(tmp_path):
    """Pruned targets are never wider than the raw visit shares of the same search."""
    from alphago.selfplay import SearchSelfPlayConfig, play_search_games

    cfg = SelfPlayConfig(games=1, size=7, seed=6, max_moves=30)
    raw = play_search_games(UniformEvaluator(), cfg, SearchSelfPlayConfig(visits=24))[0]
    pruned = play_search_games(UniformEvaluator(), cfg,
                               SearchSelfPlayConfig(visits=24, prune_targets=True))[0]
    assert raw.moves == pruned.moves  # pruning changes what is stored, not what is played
    for a, b in zip(raw.visit_targets, pruned.visit_targets):
        assert set(b) <= set(a) and abs(sum(b.values()) - 1) < 1e-6
    assert sum(map(len, pruned.visit_targets)) < sum(map(len, raw.visit_targets))


def test_visit_targets_script_compares_raw_and_pruned_targets(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from alphago import checkpoint

    root = Path(__file__).resolve().parents[1]
    net = tmp_path / "net.pt"
    checkpoint.save(net, build_model(ModelConfig(board_size=7, filters=8, depth=1,
                                                 heads="both")))
    res = subprocess.run([sys.executable, str(root / "scripts" / "visit_targets.py"),
                          "--model", str(net), "--size", "7", "--visits", "24", "--games", "2",
                          "--moves", "10", "--device", "cpu", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["positions"] == 20
    assert 1 <= out["moves_pruned"] <= out["moves_raw"]
    assert out["top_share_pruned"] >= out["top_share_raw"]
    bad = subprocess.run([sys.executable, str(root / "scripts" / "visit_targets.py"),
                          "--model", str(tmp_path / "missing.pt")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "not found" in bad.stderr


def test_mixed_replay_pools_visit_targets_with_played_moves(tmp_path):
    """Shards with visit targets (search self-play) pooled with shards without (records of
    played games): each row keeps its own kind of target, the played move one-hot for
    the second, the visit shares for the first, and the pool trains as one."""
    from alphago.selfplay import SearchSelfPlayConfig, play_search_games

    cfg = SelfPlayConfig(games=2, size=9, seed=4, max_moves=30)
    write_games(play_search_games(UniformEvaluator(), cfg, SearchSelfPlayConfig(visits=16)),
                cfg, tmp_path / "sp", val_fraction=0.0)
    write_games(play_games(UniformEvaluator(), cfg), cfg, tmp_path / "rec", val_fraction=0.0)
    sp = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=False)
    rec = dataset.PositionShards(tmp_path / "rec", "train", "basic", augment=False)
    assert sp.has_targets and not rec.has_targets
    both = dataset.PositionShards([tmp_path / "rec", tmp_path / "sp"], "train", "basic",
                                  augment=False)
    assert both.has_targets and len(both) == len(sp) + len(rec)
    _, moves, _, targets = both.batch(np.arange(len(both)), targets=True)
    first, then = targets[:len(rec)], targets[len(rec):]
    assert (first.sum(1) == 1).all() and (first[np.arange(len(rec)), moves[:len(rec)]] == 1).all()
    expect = sp.batch(np.arange(len(sp)), targets=True)[3]
    assert np.array_equal(then, expect) and ((then > 0).sum(1) > 1).any()
    # the other order pools the same way
    again = dataset.PositionShards([tmp_path / "sp", tmp_path / "rec"], "train", "basic",
                                   augment=False)
    assert np.array_equal(again.batch(np.arange(len(sp)), targets=True)[3], expect)


def test_search_eval_scores_the_search_and_its_prior_against_recorded_moves(tmp_path,
                                                                             capsys):
    """alphago-eval --visits: every stride-th non-pass position of each record, the prior's
    and the search's choice against the recorded move, shares as probabilities."""
    import json

    from alphago import checkpoint
    from alphago.cli import eval_policy
    from alphago.evaluator import evaluate_positions

    cfg = SelfPlayConfig(games=3, size=7, komi=0.5, seed=8)
    write_games(play_games(UniformEvaluator(), cfg), cfg, tmp_path / "sp")
    torch.manual_seed(3)
    net_path = tmp_path / "net.pt"
    checkpoint.save(net_path, build_model(ModelConfig(board_size=7, filters=8, depth=1,
                                                      heads="both")))
    argv = ["--sgf", str(tmp_path / "sp" / "sgf"), "--model", str(net_path), "--visits", "12",
            "--stride", "3", "--max-positions", "25", "--json"]
    assert eval_policy.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    # the same positions found another way: each record replayed to its i-th move
    ev = TorchEvaluator(checkpoint.load_model(net_path)[0], "cpu")
    recs = list(sgf.load_games(tmp_path / "sp" / "sgf",
                               sgf.GameFilter(sizes=(7,), min_moves=1, validate=False)))
    picked = [(rec, i) for rec in recs for i, (_, p) in enumerate(rec.moves)
              if i % 3 == 0 and p != 49][:25]
    assert out["positions"] == len(picked) == 25 and out["visits"] == 12
    firsts = []
    for rec, i in picked:
        pos = rec.position_after(i, superko=True)
        prior = evaluate_positions(ev, [pos])[0][0]
        firsts.append((int(np.argmax(prior)) == rec.moves[i][1], float(prior[rec.moves[i][1]])))
    assert out["prior_top1"] == pytest.approx(np.mean([f[0] for f in firsts]))
    assert out["prior_share"] == pytest.approx(np.mean([f[1] for f in firsts]), abs=1e-5)
    for key in ("search_top1", "visit_share", "pruned_share", "search_changed"):
        assert 0.0 <= out[key] <= 1.0
    for key in ("completed_q_share", "completed_q_top1"):
        assert 0.0 <= out[key] <= 1.0
    assert out["changed_search_right"] + out["changed_prior_right"] <= 1.0
    with pytest.raises(SystemExit):
        eval_policy.main(argv[:-1] + ["--stride", "0"])


def test_completed_q_target_on_a_hand_computed_search():
    from alphago.mcts import MoveInfo
    from alphago.selfplay import completed_q_target

    prior = np.array([0.5, 0.3, 0.2, 0.0])  # the last move is illegal
    cands = [MoveInfo(0, 3, 0.6, 0.5, 0.0, []), MoveInfo(1, 1, 0.2, 0.3, 0.0, [])]
    # unvisited move 2 gets the mixed value: (0.5 + 4 * (0.5*0.6 + 0.3*0.2) / 0.8) / 5 = 0.46
    got = completed_q_target(prior, cands, root_value=0.0, c_visit=0.0, c_scale=1 / 3)
    want = np.array([0.5 * np.exp(0.6), 0.3 * np.exp(0.2), 0.2 * np.exp(0.46), 0.0])
    assert got == pytest.approx(want / want.sum())
    # the default scale (50 + the most visits) makes the target follow the values
    sharp = completed_q_target(prior, cands, root_value=0.0)
    assert sharp[0] > 0.99 and sharp[3] == 0.0
    # no search: the prior itself
    assert completed_q_target(prior, [], root_value=0.3) == pytest.approx(prior)


def test_mixed_value_target_on_hand_computed_rows():
    """(1 - w) z + w q where a row has a root value and a known outcome; the outcome
    elsewhere; a mix of exactly 0 keeps the outcome's sign (0 marks an unknown result)."""
    z = np.array([1, -1, 0, 1, -1], np.float32)
    q = np.array([0.5, np.nan, 0.3, -1.0, -0.2], np.float16)
    out = dataset.mix_value_target(z, q, 0.5)
    assert np.allclose(out[[0, 1, 2, 4]], [0.75, -1.0, 0.0, -0.6], atol=1e-3)
    assert 0 < out[3] < 1e-5
    assert np.array_equal(dataset.mix_value_target(z, q, 0.0)[[0, 1, 2, 4]], z[[0, 1, 2, 4]])
    assert np.allclose(dataset.mix_value_target(z, q, 1.0)[[0, 4]], [0.5, -0.2], atol=1e-3)


def test_search_self_play_stores_root_values_and_mixes_them_into_the_value_target(
        tmp_path, monkeypatch):
    """Every searched move's root value (mover's view, full and cheap searches alike) goes
    into the shards; pooled with records that have none, the value target mixes it in only
    where it exists; training with the mix needs shards that hold root values."""
    from alphago import checkpoint
    from alphago.player import MCTSPlayer
    from alphago.selfplay import SearchSelfPlayConfig, play_search_games

    seen = []
    genmove = MCTSPlayer.genmove

    def spy(self, pos, *args, **kwargs):
        res = genmove(self, pos, *args, **kwargs)
        seen.append(2 * res.root_winrate - 1)
        return res

    monkeypatch.setattr(MCTSPlayer, "genmove", spy)
    torch.manual_seed(1)
    net = build_model(ModelConfig(board_size=7, filters=8, depth=1, heads="both"))
    cfg = SelfPlayConfig(games=2, size=7, seed=5, max_moves=30)
    scfg = SearchSelfPlayConfig(visits=12, cheap_visits=4, full_fraction=0.5,
                                resign_threshold=-1.0)
    games = play_search_games(TorchEvaluator(net, "cpu"), cfg, scfg)
    assert [v for g in games for v in g.root_values] == pytest.approx(seen)
    assert all(len(g.root_values) == len(g.moves) for g in games)
    assert np.std(seen) > 0.01  # a net's values, not a constant
    write_games(games, cfg, tmp_path / "sp", val_fraction=0.0)
    write_games(play_games(UniformEvaluator(), cfg), cfg, tmp_path / "rec", val_fraction=0.0)
    plain = dataset.PositionShards(tmp_path / "sp", "train", "basic", augment=False)
    assert plain.has_q
    assert np.allclose(plain.data["q"].astype(np.float32), np.float16(seen), atol=1e-3)
    z = plain.batch(np.arange(len(plain)))[2]
    assert set(np.unique(z)) <= {-1.0, 1.0}  # q_weight 0: the outcome alone
    both = dataset.PositionShards([tmp_path / "rec", tmp_path / "sp"], "train", "basic",
                                  augment=False, q_weight=0.25)
    rec = dataset.PositionShards(tmp_path / "rec", "train", "basic", augment=False)
    assert not rec.has_q and both.has_q
    value = both.batch(np.arange(len(both)))[2]
    n = len(rec)
    assert np.array_equal(value[:n], rec.batch(np.arange(n))[2])
    assert np.allclose(value[n:], 0.75 * z + 0.25 * np.float16(seen).astype(np.float32),
                       atol=1e-3)
    with pytest.raises(ValueError, match="q_weight"):
        dataset.PositionShards(tmp_path / "sp", "train", "basic", q_weight=1.5)
    with pytest.raises(ValueError, match="value_q_weight"):
        TrainConfig(value_q_weight=-0.1)
    # training with the mix: fine on the pool, a clear error on records alone
    checkpoint.save(tmp_path / "init.pt", net)
    tcfg = TrainConfig(batch_size=16, lr=0.01, total_steps=4, warmup_steps=0, eval_every=4,
                       checkpoint_every=4, visit_targets=True, workers=0, eval_positions=50,
                       value_q_weight=0.5)
    res = train([str(tmp_path / "rec"), str(tmp_path / "sp")], str(tmp_path / "run"), net.cfg,
                tcfg, "cpu", init_from=str(tmp_path / "init.pt"), progress=False)
    assert res.step == 4
    with pytest.raises(ValueError, match="root values"):
        train(str(tmp_path / "rec"), str(tmp_path / "run2"), net.cfg, tcfg, "cpu",
              init_from=str(tmp_path / "init.pt"), progress=False)
