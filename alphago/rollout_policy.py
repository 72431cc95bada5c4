"""Rollout-policy weights: load/save, training from shards, accuracy and speed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from alphago import dataset
from alphago.kernels import rollout as kr

FORMAT = "alphago-rollout-v1"


def save_weights(path: str | Path, weights: np.ndarray, info: dict) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, weights=weights.astype(np.float32),
                        info=np.array(json.dumps({"format": FORMAT, **info})))
    tmp.replace(path)


def load_weights(path: str | Path | None) -> tuple[np.ndarray, dict]:
    """Weights from a file made by save_weights; the hand-written default for None."""
    if path is None:
        return kr.default_weights(), {"format": FORMAT, "source": "hand-written default"}
    try:
        with np.load(path) as z:
            w = z["weights"].astype(np.float32)
            info = json.loads(str(z["info"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"cannot read rollout weights {path}: {exc}") from exc
    if info.get("format") != FORMAT or w.shape != (kr.N_WEIGHTS,):
        raise ValueError(f"{path} is not a rollout-policy file of format {FORMAT}")
    return w, info


def weights_for(choice: str) -> np.ndarray | None:
    """The weights a ``--rollout-policy`` choice names: a file's, the hand-written ones for
    ``"default"``, None (uniform random playouts) for ``"uniform"``."""
    if choice == "uniform":
        return None
    return load_weights(None if choice == "default" else choice)[0]


def _arrays(shards: dataset.PositionShards, idx: np.ndarray):
    d = shards.data
    colors = dataset.unpack_colors(d["stones"][idx], shards.size ** 2)
    return (colors, d["to_move"][idx].astype(np.int64), d["ko"][idx].astype(np.int64),
            d["last"][idx].astype(np.int64), d["move"][idx].astype(np.int64))


def measure(weights: np.ndarray, shards: dataset.PositionShards, count: int) -> dict:
    from alphago.board import geometry, zobrist_keys

    n = shards.size
    idx = np.arange(min(count, len(shards)))
    nbr, diag = geometry(n)
    ll, hits, total = kr.sgd_epoch(*_arrays(shards, idx), nbr, diag, zobrist_keys(n),
                                   weights.copy(), 0.0, 0.0, np.arange(len(idx)), False)
    return {"positions": int(total), "top1": hits / max(1, total), "nll": -ll / max(1, total)}


def train(shard_dir: str, positions: int, epochs: int = 2, lr: float = 0.05,
          l2: float = 1e-4, seed: int = 0, val_positions: int = 20000,
          start: np.ndarray | None = None, log=print) -> tuple[np.ndarray, dict]:
    from alphago.board import geometry, zobrist_keys

    tr = dataset.PositionShards(shard_dir, "train", "basic", augment=False,
                                max_positions=positions)
    va = dataset.PositionShards(shard_dir, "val", "basic", augment=False,
                                max_positions=val_positions)
    n = tr.size
    nbr, diag = geometry(n)
    w = (kr.default_weights() if start is None else start).astype(np.float32).copy()
    rng = np.random.default_rng(seed)
    arrays = _arrays(tr, np.arange(len(tr)))
    for epoch in range(epochs):
        t0 = time.time()
        order = rng.permutation(len(tr))
        ll, hits, total = kr.sgd_epoch(*arrays, nbr, diag, zobrist_keys(n), w,
                                       lr / (1 + epoch), l2, order, True)
        val = measure(w, va, val_positions)
        log(f"epoch {epoch + 1}: train top1 {hits / total:.4f} nll {-ll / total:.3f}, "
            f"val top1 {val['top1']:.4f} nll {val['nll']:.3f} ({time.time() - t0:.0f} s)")
    info = {"train_positions": len(tr), "epochs": epochs, "val": measure(w, va, val_positions)}
    return w, info


def playout_speed(weights: np.ndarray, count: int = 300, seed: int = 1) -> dict:
    """Rollout-policy playouts from the empty 19x19 board on one core."""
    from alphago.board import Position
    from alphago.kernels import board as kb

    pos = Position(19)
    kb.seed_rng(seed)
    kr.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob, weights, 3, 1083, 7.5)
    t0 = time.perf_counter()
    _, moves = kr.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob, weights, count,
                                1083, 7.5)
    dt = time.perf_counter() - t0
    return {"rollout_playouts_per_s": count / dt, "rollout_moves_per_s": moves / dt,
            "us_per_move": 1e6 * dt / moves}


def _balance_set(folders: list[str], per_game: int, seed: int, model) -> dict:
    """Positions with a known result from both splits of ``folders`` (``per_game`` a game,
    0 for all) with the value network's estimate of each (the mover's view)."""
    import torch

    from alphago.train_eval import value_estimates

    parts = []
    for d in dataset.existing_splits(folders, ("train", "val"), model.cfg.feature_set,
                                     per_game=per_game, seed=seed).values():
        known = np.flatnonzero(d.data["outcome"] != 0)
        values = value_estimates(model, d, torch.device("cpu"))
        colors, to_move, ko, last, _ = _arrays(d, known)
        parts.append((colors, to_move, ko, last, d.data["outcome"][known].astype(np.float64),
                      values[known], d.size))
    if not parts:
        raise FileNotFoundError(f"no shards with known results under {', '.join(folders)}")
    sizes = {p[-1] for p in parts}
    arrays = [np.concatenate([p[k] for p in parts]) for k in range(6)]
    return dict(zip(("colors", "to_move", "ko", "last", "result", "value"), arrays),
                size=sizes.pop())


def _under_symmetries(data: dict, syms: np.ndarray) -> dict:
    """``data``'s positions, each turned by its symmetry ``syms[i]`` (stones, ko point
    and last moves; results and values unchanged): the rollout's features are not
    symmetric (an offset from the last move, a pattern), so balancing on few games sees
    each position in a random orientation rather than learn their one."""
    from alphago import symmetry

    n = data["size"]
    nn = n * n
    table = symmetry.point_map(n).astype(np.int64)[syms]  # [B, nn + 1]
    colors = np.empty_like(data["colors"])
    np.put_along_axis(colors, table[:, :nn], data["colors"], axis=1)

    def moved(points):
        points = np.asarray(points, np.int64)
        on_board = (points >= 0) & (points < nn)
        where = np.where(on_board, points, 0)
        if points.ndim == 1:
            return np.where(on_board, table[np.arange(len(points)), where], points)
        return np.where(on_board, np.take_along_axis(table, where, axis=1), points)

    return {**data, "colors": colors, "ko": moved(data["ko"]), "last": moved(data["last"])}


def balance_errors(weights: np.ndarray, data: dict, lam: float, rollouts: int,
                   komi: float, seed: int, moves_per_point: int = 3) -> dict:
    """Mean squared errors against the games' results over ``data``'s positions: of the
    search's leaf value (1 - lam) v + lam r, r the rollouts' expected result (estimated
    without bias from ``rollouts`` of them), of r alone, and of the value network alone."""
    from alphago.board import geometry, zobrist_keys
    from alphago.kernels import balance as kb

    if rollouts < 2:
        raise ValueError("the errors need at least 2 rollouts a position")
    n = data["size"]
    nbr, diag = geometry(n)
    order = np.arange(len(data["result"]))
    mix, roll, value, count = kb.balance_epoch(
        data["colors"], data["to_move"], data["ko"], data["last"], data["result"],
        data["value"], order, nbr, diag, zobrist_keys(n), weights, weights, 0.0, 0.0,
        lam, rollouts, moves_per_point * n * n, komi, seed, False)
    c = max(1, count)
    return {"positions": int(count), "leaf_mse": mix / c, "rollout_mse": roll / c,
            "value_mse": value / c}


def balance(start: np.ndarray, model_path: str, train_folders: list[str],
            val_folders: list[str], epochs: int = 3, lr: float = 0.003, l2: float = 0.0,
            lam: float = 0.5, rollouts: int = 8, per_game: int = 0, komi: float = 7.5,
            seed: int = 0, symmetries: bool = True, log=print) -> tuple[np.ndarray, dict]:
    """Simulation balancing (``kernels.balance``) of the rollout weights ``start`` on the
    positions of self-play games (``train_folders``) whose value the network of
    ``model_path`` estimates; the weights kept are the epoch with the lowest leaf-value
    error on the held-out games of ``val_folders``. With ``symmetries`` each epoch sees
    every training position under a random one of the 8 board symmetries."""
    from alphago import checkpoint
    from alphago.board import geometry, zobrist_keys
    from alphago.kernels import balance as kb

    try:
        model, _ = checkpoint.load_model(model_path)
    except checkpoint.CheckpointError as exc:
        raise ValueError(str(exc)) from exc
    if model.cfg.heads == "policy":
        raise ValueError(f"{model_path} has no value head")
    tr = _balance_set(train_folders, per_game, seed, model)
    va = _balance_set(val_folders, per_game, seed + 1, model)
    n = tr["size"]
    if va["size"] != n:
        raise ValueError(f"training games are {n}x{n}, held-out games {va['size']}x{va['size']}")
    nbr, diag = geometry(n)
    anchor = start.astype(np.float32).copy()
    w = anchor.copy()
    rng = np.random.default_rng(seed)
    history = [balance_errors(w, va, lam, rollouts, komi, seed + 7)]
    log(f"epoch 0: held-out {json.dumps(history[0])}")
    best, best_w = history[0]["leaf_mse"], w.copy()
    for epoch in range(epochs):
        t0 = time.time()
        order = rng.permutation(len(tr["result"]))
        turned = _under_symmetries(tr, rng.integers(0, 8, len(tr["result"]))) \
            if symmetries else tr
        mix, roll, value, count = kb.balance_epoch(
            turned["colors"], turned["to_move"], turned["ko"], turned["last"],
            turned["result"], turned["value"], order, nbr, diag, zobrist_keys(n), w, anchor,
            lr, l2, lam, rollouts, 3 * n * n, komi, seed + 100 + epoch, True)
        val = balance_errors(w, va, lam, rollouts, komi, seed + 7)
        history.append(val)
        log(f"epoch {epoch + 1}: train leaf mse {mix / max(1, count):.4f} on {count} "
            f"positions, held-out {json.dumps(val)} ({time.time() - t0:.0f} s)")
        if val["leaf_mse"] < best:
            best, best_w = val["leaf_mse"], w.copy()
    info = {"balanced_from_model": str(model_path), "train_positions": int(len(tr["result"])),
            "val_positions": int(len(va["result"])), "epochs": epochs, "lr": lr, "l2": l2,
            "lambda": lam, "rollouts": rollouts, "symmetries": symmetries,
            "held_out": history}
    return best_w, info
