"""Simulation balancing of the rollout policy: the score function it logs, the direction
it moves the rollouts' result, and the command."""

import json

import numpy as np
import pytest

from alphago import coords, rollout_policy
from alphago.board import BLACK, Position
from alphago.kernels import balance as kbal
from alphago.kernels import board as kb
from alphago.kernels import rollout as kr

# black to move; white's three-by-two chain has two liberties and black's wall is thin:
# whether the rollouts capture or let white out decides most of them (the capture
# weight moves black's expected result from about 0.6 to about 0.9)
RACE = """
    . . . . . . . . .
    . . . . . . . . .
    . . . . . . . . .
    . . X X X . . . .
    . X O O O X . . .
    . X O O O . . . .
    . . X X X . . . .
    . . . . . . . . .
    . . . . . . . . ."""


def _race() -> Position:
    pos = Position.from_ascii(RACE, to_move=BLACK, komi=7.5)
    pos.meta[kb.M_LAST] = coords.from_gtp("D3", 9)
    pos.meta[kb.M_LAST2] = coords.from_gtp("E5", 9)
    return pos


def _expected_result(pos: Position, weights: np.ndarray, count: int = 4000) -> float:
    """Black's expected rollout result (+1 win, -1 loss) from ``pos``, black to move."""
    kb.seed_rng(11)
    wins, _ = kr.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob, weights, count,
                               243, 7.5)
    return 2 * wins / count - 1


def _as_data(pos: Position, copies: int, result: float, value: float) -> dict:
    """``copies`` of one position in the arrays ``balance_epoch`` reads from shards."""
    last = np.full((copies, 8), -1, np.int64)
    last[:, 0], last[:, 1] = pos.meta[kb.M_LAST], pos.meta[kb.M_LAST2]
    return {"colors": np.repeat(pos.colors.ravel()[None].astype(np.int8), copies, 0),
            "to_move": np.full(copies, pos.to_move, np.int64),
            "ko": np.full(copies, -1, np.int64), "last": last,
            "result": np.full(copies, result), "value": np.full(copies, value), "size": pos.size}


def test_the_logged_score_function_has_mean_zero():
    """E[grad log pi(a)] = 0 under the policy's own draws: the probabilities logged are
    those the move was drawn with (a mismatch leaves a bias on the drawn features)."""
    pos = _race()
    weights = kr.default_weights()
    bufs = kr.scratch()
    cap = kr.MAX_CANDS * kbal.ENTRIES_PER_CAND + 1
    idx, val = np.empty(cap, np.int64), np.empty(cap)
    draws = 20000
    total = np.zeros(kr.N_WEIGHTS)
    squares = np.zeros(kr.N_WEIGHTS)
    kb.seed_rng(3)
    moves = set()
    for _ in range(draws):
        move, used = kbal.logged_move(pos.st, pos.meta, pos.nbr, pos.diag, weights, bufs,
                                      idx, val, 0)
        moves.add(int(move))
        one = np.bincount(idx[:used], val[:used], minlength=kr.N_WEIGHTS)
        total += one
        squares += one ** 2
    touched = np.flatnonzero(squares)
    assert len(moves) > 5 and len(touched) >= 10  # candidates, offsets, flags, tenuki
    mean = total[touched] / draws
    se = np.sqrt(squares[touched] / draws - mean ** 2) / np.sqrt(draws)
    assert np.all(np.abs(mean) < 4.5 * se + 1e-9)


@pytest.mark.parametrize("result", [1.0, -1.0])
def test_balancing_moves_the_rollouts_toward_the_result(result):
    """Trained on one position whose known result is a black win (loss), with lambda 1
    and no value estimate, the rollouts' expected result from it rises (falls)."""
    pos = _race()
    start = kr.default_weights()
    start[kr.OFF_FLAGS + kr.F_CAPTURE] -= 2  # room to move both ways (black wins 71-29)
    before = _expected_result(pos, start)
    data = _as_data(pos, 600, result, 0.0)
    weights = start.copy()
    kbal.balance_epoch(data["colors"], data["to_move"], data["ko"], data["last"],
                       data["result"], data["value"], np.arange(600), pos.nbr, pos.diag,
                       pos.zob, weights, start, 0.1, 0.0, 1.0, 8, 243, 7.5, 5, True)
    after = _expected_result(pos, weights)
    assert (after - before) * result > 0.05
    assert not np.array_equal(weights, start)


def test_balance_errors_are_those_of_the_expected_leaf_value():
    """With lambda 1 and a rollout result that is certain (uniform policy on a board one
    move from the end), the leaf error is exactly the rollout's; the value's is its own."""
    pos = Position.from_ascii("""
        X X X X X
        X X X X X
        X X . X X
        X X X X X
        O O O O .""", to_move=BLACK, komi=0.5)
    data = _as_data(pos, 4, -1.0, 0.5)
    errors = rollout_policy.balance_errors(kr.default_weights(), data, 1.0, 4, 0.5, 1)
    assert errors["positions"] == 4
    assert errors["rollout_mse"] == pytest.approx(4.0)  # black always wins, result -1
    assert errors["leaf_mse"] == pytest.approx(4.0)
    assert errors["value_mse"] == pytest.approx(2.25)
    half = rollout_policy.balance_errors(kr.default_weights(), data, 0.5, 4, 0.5, 1)
    assert half["leaf_mse"] == pytest.approx((-1 - 0.25 - 0.5) ** 2)
    with pytest.raises(ValueError):
        rollout_policy.balance_errors(kr.default_weights(), data, 0.5, 1, 0.5, 1)


def test_the_command_balances_and_refuses_bad_input(tmp_path, capsys):
    import torch

    from alphago import checkpoint
    from alphago.cli import train_rollout
    from alphago.config import ModelConfig
    from alphago.evaluator import UniformEvaluator
    from alphago.model import build_model
    from alphago.selfplay import SelfPlayConfig, play_games, write_games

    for name, seed in (("games", 6), ("held", 7)):
        cfg = SelfPlayConfig(games=6, size=7, komi=0.5, seed=seed)
        write_games(play_games(UniformEvaluator(), cfg), cfg, tmp_path / name, val_fraction=0.3)
    torch.manual_seed(1)
    for heads in ("both", "policy"):
        checkpoint.save(tmp_path / f"{heads}.pt", build_model(ModelConfig(
            board_size=7, filters=8, depth=1, heads=heads)))
    start = tmp_path / "start.npz"
    rollout_policy.save_weights(start, kr.default_weights(), {"source": "test"})
    out = tmp_path / "balanced.npz"
    argv = ["--balance", "--start", str(start), "--games", str(tmp_path / "games"),
            "--val-games", str(tmp_path / "held"), "--rollouts", "4", "--epochs", "2",
            "--lr", "0.01", "--out", str(out)]
    assert train_rollout.main(argv + ["--value-model", str(tmp_path / "both.pt")]) == 0
    info = json.loads(capsys.readouterr().out)
    weights, saved = rollout_policy.load_weights(out)
    assert weights.shape == (kr.N_WEIGHTS,) and saved["start"] == str(start)
    assert len(info["held_out"]) == 3 and info["held_out"][0]["positions"] > 20
    assert info["lambda"] == 0.5 and info["rollouts"] == 4 and info["symmetries"] is True
    # the weights kept are the epoch with the lowest held-out leaf error
    best = min(range(3), key=lambda e: info["held_out"][e]["leaf_mse"])
    assert (best == 0) == np.array_equal(weights, kr.default_weights())
    bad = [argv,  # no value network
           argv + ["--value-model", str(tmp_path / "policy.pt")],  # no value head
           argv + ["--value-model", str(tmp_path / "missing.pt")],
           argv + ["--value-model", str(tmp_path / "both.pt"), "--rollouts", "1"],
           [a if a != str(tmp_path / "held") else str(tmp_path / "nowhere") for a in argv]
           + ["--value-model", str(tmp_path / "both.pt")]]
    for args in bad:
        with pytest.raises(SystemExit) as exc:
            train_rollout.main(args)
        assert exc.value.code == 2
    assert "no value head" in capsys.readouterr().err


def test_positions_turned_by_a_symmetry_keep_their_meaning():
    """Each position turned by its own symmetry: stones, ko point and last moves move
    together (no move and a pass stay as they are), so its rollouts' result is unchanged."""
    from alphago import symmetry

    pos = _race()
    data = _as_data(pos, 8, 1.0, 0.0)
    data["ko"][:] = coords.from_gtp("A1", 9)
    data["last"][:, 2] = 81  # a pass
    turned = rollout_policy._under_symmetries(data, np.arange(8))
    table = symmetry.point_map(9)
    for s in range(8):
        for p in np.flatnonzero(data["colors"][s]):
            assert turned["colors"][s, table[s, p]] == data["colors"][s, p]
        assert (turned["colors"][s] != 0).sum() == (data["colors"][s] != 0).sum()
        assert turned["ko"][s] == table[s, data["ko"][s]]
        assert list(turned["last"][s, :3]) == [table[s, data["last"][s, k]] for k in range(3)]
        assert list(turned["last"][s, 3:]) == [-1] * 5
    assert np.array_equal(turned["result"], data["result"])
    # black's expected result is the same in every orientation: the rollout policy's
    # features turn with the board (its candidates are around the turned last moves)
    errors = []
    for s in (0, 3, 6):
        one = {k: v[s:s + 1] if isinstance(v, np.ndarray) else v for k, v in turned.items()}
        one["ko"] = np.array([-1])
        errors.append(rollout_policy.balance_errors(kr.default_weights(), one, 1.0, 3000,
                                                    7.5, 1)["rollout_mse"])
    assert 0.005 < min(errors) and max(errors) - min(errors) < 0.02  # (1 - r)^2, r near 0.85
