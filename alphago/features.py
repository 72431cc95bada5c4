"""Feature-set registry and Position -> planes.

A feature set is named in checkpoints, so a model always gets the planes it was
trained on. ``basic`` (16 planes) is cheap for CPU training; ``alphago`` is the
paper's 48; ``alphago_value`` adds the paper's player-colour plane (49).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from alphago import symmetry
from alphago.board import BLACK, Position
from alphago.kernels import board as kb
from alphago.kernels import features as kf

HISTORY = 8  # moves of history stored per position and read by the feature kernels


@dataclasses.dataclass(frozen=True)
class FeatureSet:
    name: str
    planes: int
    kernel_id: int  # 0: fill_batch_basic, 1: fill_batch_alphago
    color_plane: bool = False  # extra plane: 1 where black is to move (value net)


FEATURE_SETS = {
    "basic": FeatureSet("basic", kf.BASIC_PLANES, 0),
    "alphago": FeatureSet("alphago", kf.ALPHAGO_PLANES, 1),
    "alphago_value": FeatureSet("alphago_value", kf.ALPHAGO_PLANES + 1, 1, color_plane=True),
}


def get_feature_set(name: str) -> FeatureSet:
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise ValueError(f"unknown feature set {name!r}; known: {sorted(FEATURE_SETS)}") from None


def last_moves(pos: Position, k: int = HISTORY) -> np.ndarray:
    """The k most recent moves, most recent first; -1 where the game is shorter. [k] int16."""
    out = np.full(k, -1, np.int16)
    recent = [p for _, p in pos.moves[-k:]][::-1]
    out[: len(recent)] = recent
    return out


def _planes(fs: FeatureSet, b: int, n: int, to_move: np.ndarray, fill) -> np.ndarray:
    """[B, C, n, n] uint8: ``fill(core)`` writes the feature set's kernel planes into
    ``core`` [B, C', n*n]; the colour plane (1 where black is to move) comes after them."""
    out = np.zeros((b, fs.planes, n * n), np.uint8)
    fill(out[:, : fs.planes - 1] if fs.color_plane else out)
    if fs.color_plane:
        out[:, -1] = (np.asarray(to_move) == BLACK)[:, None]
    return out.reshape(b, fs.planes, n, n)


def batch_planes(colors: np.ndarray, to_move: np.ndarray, ko: np.ndarray, last: np.ndarray,
                 syms: np.ndarray, n: int, fs: FeatureSet) -> np.ndarray:
    """Planes for a batch of stored positions, each under its own symmetry. [B, C, n, n] uint8."""
    from alphago.board import geometry, zobrist_keys

    nbr, diag = geometry(n)
    perms = symmetry.point_map(n)[np.asarray(syms, np.int64)].astype(np.int32)
    kernel = kf.fill_batch_alphago if fs.kernel_id == 1 else kf.fill_batch_basic

    def fill(core):
        kernel(np.ascontiguousarray(colors, np.int8), np.asarray(to_move, np.int64),
               np.asarray(ko, np.int64), np.ascontiguousarray(last, np.int32), perms,
               nbr, diag, zobrist_keys(n), core)

    return _planes(fs, colors.shape[0], n, to_move, fill)


def state_planes(sts: np.ndarray, metas: np.ndarray, lasts: np.ndarray, syms: np.ndarray,
                 n: int, fs: FeatureSet) -> np.ndarray:
    """Planes for a batch of live kernel states (the search's leaves), each under its own
    symmetry; equal to ``position_planes`` of the same positions. [B, C, n, n] uint8."""
    from alphago.board import geometry, zobrist_keys
    from alphago.kernels import search as ks

    nbr, diag = geometry(n)
    pm = symmetry.point_map(n).astype(np.int64)

    def fill(core):
        if fs.kernel_id == 1:
            ks.fill_planes_alphago(sts, metas, lasts, syms, pm, nbr, diag, zobrist_keys(n), core)
        else:
            ks.fill_planes_basic(sts, metas, lasts, syms, pm, nbr, diag, core)

    return _planes(fs, len(sts), n, metas[:, kb.M_TOMOVE], fill)


def position_planes(pos: Position, fs: FeatureSet | str, sym: int = 0) -> np.ndarray:
    """Planes of a live position under one symmetry. [C, n, n] uint8."""
    fs = get_feature_set(fs) if isinstance(fs, str) else fs
    colors = pos.colors.reshape(1, -1).astype(np.int8)
    return batch_planes(colors, np.array([pos.to_move]), np.array([pos.ko]),
                        last_moves(pos)[None], np.array([sym]), pos.size, fs)[0]
