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
