"""Monte Carlo tree search: numba tree kernels + batched evaluator + rollouts.

Leaves are gathered under virtual loss into batches of ``SearchConfig.batch_size``
for one network call. A leaf's value is ``(1 - lambda) v + lambda z`` with v from
the value head (when the network has one) and z the outcome of a fast rollout
(when enabled); with only one of them that one is used, with neither 0.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable

import numpy as np
from numba import njit, prange

from alphago import coords, symmetry
from alphago.board import BLACK, Position
from alphago.config import SearchConfig
from alphago.evaluator import Evaluator, orient_and_mask
from alphago.features import HISTORY, last_moves
from alphago.kernels import board as kb
from alphago.kernels import features as kf
from alphago.kernels import rollout as kr
from alphago.kernels import tree as kt

MAX_DEPTH = 1000


@njit(cache=True, parallel=True)
def rollouts(sts, metas, nbr, diag, zob, komi, max_moves, seeds, weights):
    """One playout per leaf, in parallel: the rollout policy with ``weights``, or
    uniform random moves (true eyes kept) when ``weights`` is empty.
    Returns +1/-1 (0 for a draw) per leaf: did the leaf's side to move win on area?"""
    b = sts.shape[0]
    out = np.zeros(b, np.float32)
    hist = np.empty(0, np.int64)
    for i in prange(b):
        np.random.seed(seeds[i])
        st = sts[i].copy()
        meta = metas[i].copy()
        mover = meta[kb.M_TOMOVE]
        if weights.shape[0] > 0:
            kr.policy_playout(st, meta, hist, nbr, diag, zob, weights, max_moves)
        else:
            kb.random_playout(st, meta, hist, nbr, diag, zob, max_moves)
        score = kb.area_score(st, nbr, komi)
        black_wins = score > 0
        out[i] = 1.0 if black_wins == (mover == kb.BLACK) else -1.0
        if score == 0:
            out[i] = 0.0
    return out


@dataclasses.dataclass
class MoveInfo:
    move: int
    visits: int
    winrate: float  # for the player to move at the root, 0..1
    prior: float
    lcb: float
    pv: list[int]


@dataclasses.dataclass
class SearchResult:
    move: int
    root_winrate: float
    visits: int
    candidates: list[MoveInfo]
    seconds: float


class MCTS:
    def __init__(self, evaluator: Evaluator, cfg: SearchConfig, size: int,
                 rollout_weights: np.ndarray | None = None):
        self.ev = evaluator
        # [N_WEIGHTS] float32 rollout-policy weights; empty: uniform random playouts
        self.rollout_weights = (np.zeros(0, np.float32) if rollout_weights is None
                                else rollout_weights.astype(np.float32))
        self.cfg = cfg
        self.size = size
        a = size * size + 1
        m = max(16, cfg.max_nodes)
        self.N = np.zeros((m, a), np.int32)  # [M, A] int32 visits
        self.W = np.zeros((m, a), np.float32)  # [M, A] float32 value sums
        self.P = np.zeros((m, a), np.float32)  # [M, A] float32 priors
        self.C = np.full((m, a), -1, np.int32)  # [M, A] int32 children
        self.info = np.zeros(4, np.int64)
        self.rng = np.random.default_rng(cfg.seed)
        self.root_moves: list[tuple[int, int]] | None = None
        self.root_key: int | None = None
        self.use_value = evaluator.has_value and cfg.mix_lambda < 1.0
        self.use_rollouts = cfg.rollouts and (cfg.mix_lambda > 0.0 or not evaluator.has_value)
        self.path_s = np.zeros(MAX_DEPTH, np.int64)
        self.path_a = np.zeros(MAX_DEPTH, np.int64)

    # ----- root management ---------------------------------------------------
    def set_root(self, pos: Position, noise: float = 0.0) -> None:
        """Search from ``pos``, reusing the subtree when pos follows the old root."""
        reused = self._try_advance(pos)
        if not reused or self.info[kt.I_NODES] > 0.8 * self.N.shape[0]:
            kt.reset(self.N, self.W, self.P, self.C, self.info)
            priors, _ = self._evaluate_positions([pos])
            self.P[0] = priors[0]
        root = self.info[kt.I_ROOT]
        if noise > 0:
            legal = self.P[root] > 0
            eta = self.rng.dirichlet([0.03 * 361 / (self.size ** 2)] * int(legal.sum()))
            self.P[root, legal] = (1 - noise) * self.P[root, legal] + noise * eta
        self.root_moves = list(pos.moves)
        self.root_key = pos.key

    def _try_advance(self, pos: Position) -> bool:
        if self.root_moves is None or self.root_key is None:
            return False
        old = self.root_moves
        if pos.moves[: len(old)] != old or len(pos.moves) - len(old) > 4:
            return pos.key == self.root_key and pos.moves == old
        node = self.info[kt.I_ROOT]
        for _, p in pos.moves[len(old):]:
            node = self.C[node, p]
            if node < 0:
                return False
        self.info[kt.I_ROOT] = node
        return True

    # ----- evaluation ----------------------------------------------------------
    def _planes_for_state(self, st, meta, last, sym):
        fs = self.ev.feature_set
        out = np.zeros((fs.planes, self.size * self.size), np.uint8)
        core = out[:-1] if fs.color_plane else out
        nbr, diag = _geometry(self.size)
        if fs.kernel_id == 1:
            kf.fill_alphago(st, meta, last, nbr, diag, _zob(self.size), core)
        else:
            kf.fill_basic(st, meta, last, nbr, diag, core)
        if fs.color_plane:
            out[-1] = 1 if meta[kb.M_TOMOVE] == BLACK else 0
        planes = out.reshape(fs.planes, self.size, self.size)
        return symmetry.apply_planes(planes, sym)

    def _evaluate_states(self, sts, metas, hists, lasts):
        """Masked priors and values for leaf states (random symmetry each)."""
        b = len(sts)
        syms = self.rng.integers(0, 8, b)
        planes = np.stack([self._planes_for_state(sts[i], metas[i], lasts[i], syms[i])
                           for i in range(b)])
        priors, values = self.ev.evaluate(planes)
        nbr, _ = _geometry(self.size)
        out = np.empty_like(priors)
        mask = np.zeros(self.size * self.size + 1, np.uint8)
        for i in range(b):
            kb.legal_mask(sts[i], metas[i], hists[i], nbr, _zob(self.size), True, mask)
            out[i] = orient_and_mask(priors[i], syms[i], mask, self.size)
        return out, values

    def _evaluate_positions(self, positions):
        sts = [p.st.copy() for p in positions]
        metas = [p.meta.copy() for p in positions]
        hists = [p.hist for p in positions]
        lasts = [last_moves(p).astype(np.int32) for p in positions]
        return self._evaluate_states(sts, metas, hists, lasts)

    # ----- simulations ---------------------------------------------------------
    def run(self, pos: Position, visits: int | None = None, seconds: float | None = None,
            stop: Callable[[], bool] | None = None, on_batch: Callable[[], None] | None = None
            ) -> int:
        """Simulate from the root until ``visits`` new simulations, ``seconds``, or
        ``stop()``; returns the simulations done."""
        if visits is None and seconds is None and stop is None:
            visits = self.cfg.visits  # no budget given: the configured one
        t0 = time.perf_counter()
        done = 0
        root_last = last_moves(pos).astype(np.int32)
        while True:
            if visits is not None and done >= visits:
                break
            if seconds is not None and time.perf_counter() - t0 >= seconds:
                break
            if stop is not None and stop():
                break
            b = self.cfg.batch_size if visits is None else min(self.cfg.batch_size, visits - done)
            done += self._batch(pos, root_last, max(1, b))
            if on_batch is not None:
                on_batch()
        return done

    def _batch(self, pos: Position, root_last: np.ndarray, b: int) -> int:
        cfg = self.cfg
        nbr, diag = _geometry(self.size)
        zob = _zob(self.size)
        leaves = []
        for _ in range(b):
            st, meta, hist = pos.st.copy(), pos.meta.copy(), pos.hist.copy()
            hist = np.concatenate([hist, np.zeros(MAX_DEPTH, np.int64)])
            d = kt.select_leaf(self.N, self.W, self.P, self.C, self.info, st, meta, hist, nbr,
                               zob, cfg.c_puct, cfg.virtual_loss, self.path_s, self.path_a)
            leaves.append((self.path_s[:d].copy(), self.path_a[:d].copy(), st, meta, hist))
        terminal = [meta[kb.M_PASSES] >= 2 or len(ps) == 0 for ps, _, _, meta, _ in leaves]
        live = [i for i, t in enumerate(terminal) if not t]
        values = np.zeros(b, np.float32)
        priors = {}
        if live:
            lasts = [self._leaf_last(root_last, leaves[i][1]) for i in live]
            pr, v = self._evaluate_states([leaves[i][2] for i in live],
                                          [leaves[i][3] for i in live],
                                          [leaves[i][4] for i in live], lasts)
            z = None
            if self.use_rollouts:
                z = rollouts(np.stack([leaves[i][2] for i in live]),
                             np.stack([leaves[i][3] for i in live]), nbr, diag, zob,
                             pos.komi, 3 * self.size * self.size,
                             self.rng.integers(0, 2**31, len(live)), self.rollout_weights)
            for j, i in enumerate(live):
                priors[i] = pr[j]
                values[i] = self._mix(v[j], None if z is None else z[j])
        for i, (ps, pa, st, meta, _) in enumerate(leaves):
            if terminal[i] and len(ps) > 0:
                score = kb.area_score(st, nbr, pos.komi)
                mover_black = meta[kb.M_TOMOVE] == kb.BLACK
                values[i] = 0.0 if score == 0 else (1.0 if (score > 0) == mover_black else -1.0)
            d = len(ps)
            if d == 0:
                continue
            self.path_s[:d], self.path_a[:d] = ps, pa
            if i in priors and self.C[ps[-1], pa[-1]] < 0:
                child = kt.new_node(self.N, self.W, self.P, self.C, self.info, priors[i])
                if child >= 0:
                    self.C[ps[-1], pa[-1]] = child
            kt.backup(self.N, self.W, self.path_s, self.path_a, d, values[i], cfg.virtual_loss)
        return b

    def _mix(self, v: float, z: float | None) -> float:
        lam = self.cfg.mix_lambda
        if self.use_value and z is not None:
            return (1 - lam) * v + lam * z
        if self.use_value:
            return float(v)
        return 0.0 if z is None else float(z)

    @staticmethod
    def _leaf_last(root_last: np.ndarray, actions: np.ndarray) -> np.ndarray:
        seq = list(actions[::-1][:HISTORY]) + list(root_last)
        return np.array(seq[:HISTORY], np.int32)

    # ----- results ---------------------------------------------------------------
    def candidates(self, max_pv: int = 12) -> list[MoveInfo]:
        root = self.info[kt.I_ROOT]
        n = self.N[root]
        out = []
        pv = np.zeros(max_pv, np.int64)
        for a in np.flatnonzero(n > 0):
            q = self.W[root, a] / n[a]
            wr = (q + 1) / 2
            lcb = wr - 1.96 * 0.5 / math.sqrt(n[a])
            k = kt.principal_variation(self.N, self.C, root, a, max_pv, pv)
            out.append(MoveInfo(int(a), int(n[a]), float(wr), float(self.P[root, a]),
                                float(lcb), [int(x) for x in pv[:k]]))
        out.sort(key=lambda m: (-m.visits, -m.winrate))
        return out

    def root_visits(self) -> int:
        return int(self.N[self.info[kt.I_ROOT]].sum())

    def root_priors(self) -> np.ndarray:
        return self.P[self.info[kt.I_ROOT]].copy()

    def choose(self, temperature: float = 0.0) -> int:
        """Most visited root move, or sampled ~ N^(1/T) when temperature > 0."""
        root = self.info[kt.I_ROOT]
        n = self.N[root].astype(np.float64)
        if n.sum() == 0:
            return int(np.argmax(self.P[root]))
        if temperature <= 0:  # most visits; ties go to the better mean value, then the prior
            q = np.where(n > 0, self.W[root] / np.maximum(n, 1), -2.0)
            return int(np.argmax(n + 1e-3 * (q + 2) + 1e-6 * self.P[root]))
        w = n ** (1.0 / temperature)
        return int(self.rng.choice(len(n), p=w / w.sum()))


def _geometry(n):
    from alphago.board import geometry
    return geometry(n)


def _zob(n):
    from alphago.board import zobrist_keys
    return zobrist_keys(n)


def format_pv(pv: list[int], n: int) -> str:
    return " ".join(coords.to_gtp(p, n) for p in pv)
