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
    per_game = dataset.PositionShards(tmp_path, "train", "basic", one_per_game=True)
    assert len(per_game) == len(np.unique(shards.data["game"]))


def test_value_net_trains_on_one_position_per_game(tmp_path):
    cfg = SelfPlayConfig(games=24, size=7, komi=0.5, seed=4)
    games = play_games(UniformEvaluator(), cfg)
    write_games(games, cfg, tmp_path / "sp", val_fraction=0.3)
    mcfg = ModelConfig(board_size=7, filters=8, depth=1, heads="value")
    tcfg = TrainConfig(batch_size=4, total_steps=20, eval_every=10, eval_positions=50,
                       checkpoint_every=10, workers=0, one_position_per_game=True)
    res = train(str(tmp_path / "sp"), str(tmp_path / "run"), mcfg, tcfg, "cpu", progress=False)
    assert res.step == 20 and 0 <= res.metrics["val"]["value_mse"] <= 4


def test_reinforce_loss_follows_the_outcome():
    from alphago.train import _losses

    torch.manual_seed(0)
    model = build_model(ModelConfig(board_size=5, filters=4, depth=1))
    planes = torch.rand(6, 16, 5, 5)
    moves = torch.randint(0, 26, (6,))
    win = torch.ones(6)
    loss_win, _ = _losses(model, planes, moves, win, model.cfg, 1.0, reinforce=True)
    loss_loss, _ = _losses(model, planes, moves, -win, model.cfg, 1.0, reinforce=True)
    plain, _ = _losses(model, planes, moves, win, model.cfg, 1.0)
    assert loss_win.item() == pytest.approx(plain.item(), rel=1e-5)
    assert loss_loss.item() == pytest.approx(-plain.item(), rel=1e-5)
