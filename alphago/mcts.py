"""Monte Carlo tree search: numba tree kernels + batched evaluator + rollouts.

Leaves are gathered under virtual loss into batches of ``SearchConfig.batch_size``
for one network call. A leaf's value is ``(1 - lambda) v + lambda z`` with v from
the value head (when the network has one) and z the outcome of a fast rollout
(when enabled); with only one of them that one is used, with neither 0.

With ``SearchConfig.threads`` > 1 that many threads share the tree, each with a batch in
flight: selection and backup run under the tree's lock, while the network call and the
rollouts (compiled kernels that release the GIL, a runtime that does too) run outside it,
side by side (on a GPU the network calls are merged into one: ``CoalescingEvaluator``).
Readers of a tree that is being searched (analysis reports) see it through ``settled()``,
which takes the in-flight virtual losses out for the time of the read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
from typing import Callable

import numpy as np

from alphago import symmetry
from alphago.board import Position, opponent
from alphago.config import SearchConfig
from alphago.evaluator import (Evaluator, NNCache, coalesced, evaluate_ensemble,
                               orient_and_mask, sample_move)
from alphago.features import HISTORY, last_moves, state_planes
from alphago.kernels import board as kb
from alphago.kernels import rollout as kr
from alphago.kernels import search as ks
from alphago.kernels import tree as kt

MAX_DEPTH = 1000


@dataclasses.dataclass
class MoveInfo:
    move: int
    visits: int
    winrate: float  # for the player to move at the root, 0..1
    prior: float
    lcb: float
    pv: list[int]
    pv_visits: list[int] = dataclasses.field(default_factory=list)  # each pv move's visits


@dataclasses.dataclass
class SearchResult:
    move: int
    root_winrate: float
    visits: int
    candidates: list[MoveInfo]
    seconds: float
    hopeless: bool = False  # the mover has been below the resign threshold long enough


@dataclasses.dataclass(frozen=True)
class MoveRestriction:
    """Analysis's ``avoid`` and ``allow`` (Leela Zero's GTP, KataGo's GTP and analysis
    engine): in the first ``until_depth`` plies of the search (1: the root's move alone),
    ``color``'s moves leave out ``moves`` (avoid) or every move but ``moves`` (allow)."""

    allow: bool
    color: int
    moves: tuple[int, ...]  # points, or the pass move
    until_depth: int


def ban_table(restrictions: list[MoveRestriction], root_color: int, size: int) -> np.ndarray:
    """[D, n*n+1] uint8: the moves the search may not explore at depth d (0: the root's
    move, played by ``root_color``); D is the deepest restriction's reach (at most the
    search's ``MAX_DEPTH``), 0 for none. Several allows at one depth allow the union of
    their moves."""
    depth = min(max((r.until_depth for r in restrictions), default=0), MAX_DEPTH)
    banned = np.zeros((depth, size * size + 1), np.uint8)
    allowed = np.zeros(banned.shape, bool)
    restricted = np.zeros(depth, bool)  # depths with an allow
    for r in restrictions:
        for d in range(min(r.until_depth, depth)):
            if (root_color if d % 2 == 0 else opponent(root_color)) != r.color:
                continue
            if r.allow:
                allowed[d, list(r.moves)] = True
                restricted[d] = True
            else:
                banned[d, list(r.moves)] = 1
    banned[restricted] |= ~allowed[restricted]
    return banned


class _Worker:
    """One search thread's own state: its leaf buffers, its random generator, and whether
    its batch is in flight (gathered, not yet backed up)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.buf: dict[str, np.ndarray] | None = None
        self.leaves: ks.Leaves | None = None  # the batch in flight, if any


class _Budget:
    """Hands out simulations to the search threads until ``visits`` are given out, the
    ``seconds`` are over, ``stop()`` says so, or a thread failed."""

    def __init__(self, visits, seconds, stop, batch_size: int):
        self.visits, self.seconds, self.stop, self.batch_size = visits, seconds, stop, batch_size
        self.t0 = time.perf_counter()
        self.given = 0
        self.done = 0
        self.failed = False
        self.lock = threading.Lock()

    def claim(self) -> int:
        with self.lock:
            if self.failed:
                return 0
            if self.visits is not None and self.given >= self.visits:
                return 0
            if self.seconds is not None and time.perf_counter() - self.t0 >= self.seconds:
                return 0
            if self.stop is not None and self.stop():
                return 0
            b = self.batch_size if self.visits is None else min(self.batch_size,
                                                                self.visits - self.given)
            b = max(1, b)
            self.given += b
            return b

    def finished(self, b: int) -> None:
        with self.lock:
            self.done += b


class MCTS:
    def __init__(self, evaluator: Evaluator, cfg: SearchConfig, size: int,
                 rollout_weights: np.ndarray | None = None):
        # the search threads' network calls, merged into one where they queue for a GPU
        self.ev = coalesced(evaluator, cfg.threads, cfg.nn_coalesce)
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
        # the arrays above as the batch kernels take them (reset in place, never replaced)
        self._tree = kt.Tree(self.N, self.W, self.P, self.C, self.info)
        self.rng = np.random.default_rng(cfg.seed)
        self.root_moves: list[tuple[int, int]] | None = None
        self.root_key: int | None = None
        self.banned = kt.no_bans(a)  # this search's ban_table (set_root)
        self.use_value = evaluator.has_value and cfg.mix_lambda < 1.0
        self.use_rollouts = cfg.rollouts and (cfg.mix_lambda > 0.0 or not evaluator.has_value)
        # without a value net or rollouts the network is the only thing to evaluate with
        self.need_net = self.use_value or not self.use_rollouts
        self.expand_visits = 1 if not self.use_rollouts else max(1, cfg.expand_visits)
        self.cache = NNCache(cfg.nn_cache_size)
        # one per search thread; the first draws from self.rng, so one thread searches
        # exactly as a single-threaded search does
        self._workers = [_Worker(self.rng)] + [
            _Worker(np.random.default_rng([cfg.seed, i])) for i in range(1, cfg.threads)]
        self._lock = threading.Lock()  # the tree's arrays, between gather and scatter
        self.nbr, self.diag = _geometry(size)  # [n*n, 4] int32 neighbours / diagonals
        self.zob = _zob(size)  # [3, n*n] int64 zobrist keys

    # ----- root management ---------------------------------------------------
    def set_root(self, pos: Position, noise: float = 0.0,
                 banned: np.ndarray | None = None) -> None:
        """Search from ``pos``, reusing the subtree when pos follows the old root. With
        ``banned`` (a ``ban_table`` with rows) the search leaves those moves out and starts
        from a fresh tree, so that no visits an earlier search gave them stand."""
        restricted = banned is not None and len(banned) > 0
        self.banned = banned if restricted else kt.no_bans(self.size * self.size + 1)
        reused = not restricted and self._try_advance(pos)
        if not reused or self.info[kt.I_NODES] > self.cfg.reuse_max_fill * self.N.shape[0]:
            kt.reset(self.N, self.W, self.P, self.C, self.info)
            self.P[0] = self._root_priors(pos)
        elif self.cfg.root_symmetries > 1:  # the reused node's one view, made an ensemble
            self.P[self.info[kt.I_ROOT]] = self._root_priors(pos)
        root = self.info[kt.I_ROOT]
        if noise > 0:
            legal = self.P[root] > 0
            alpha = self.cfg.dirichlet_alpha_19 * 361 / self.size ** 2
            eta = self.rng.dirichlet([alpha] * int(legal.sum()))
            self.P[root, legal] = (1 - noise) * self.P[root, legal] + noise * eta
        self.root_moves = list(pos.moves)
        self.root_key = pos.key

    def _try_advance(self, pos: Position) -> bool:
        if self.root_moves is None or self.root_key is None:
            return False
        old = self.root_moves
        if pos.moves[: len(old)] != old or len(pos.moves) - len(old) > self.cfg.reuse_max_moves:
            return pos.key == self.root_key and pos.moves == old
        node = self.info[kt.I_ROOT]
        for _, p in pos.moves[len(old):]:
            node = self.C[node, p]
            if node < 0:
                return False
        self.info[kt.I_ROOT] = node
        return True

    # ----- evaluation ----------------------------------------------------------
    def _net(self, sts, metas, lasts, keys, rng: np.random.Generator | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Network priors (board frame, unmasked) and values for leaf states, through
        the evaluation cache; each miss is seen under a random symmetry."""
        b, a = len(sts), self.size * self.size + 1
        if not (self.ev.has_policy or self.ev.has_value):  # no network: flat priors
            return np.full((b, a), 1.0 / a, np.float32), np.zeros(b, np.float32)
        if self.cache.max_entries == 0:
            miss = np.arange(b)
        else:
            priors = np.empty((b, a), np.float32)
            values = np.zeros(b, np.float32)
            hits = [self.cache.get(int(k)) for k in keys]
            for i, hit in enumerate(hits):
                if hit is not None:
                    priors[i], values[i] = hit
            miss = np.array([i for i, hit in enumerate(hits) if hit is None], np.int64)
            if not len(miss):
                return priors, values
        syms = (rng or self.rng).integers(0, 8, len(miss))
        if len(miss) == b:  # no hits: the leaves' arrays as they are
            planes = state_planes(sts, metas, lasts, syms, self.size, self.ev.feature_set)
        else:
            planes = state_planes(sts[miss], metas[miss], lasts[miss], syms, self.size,
                                  self.ev.feature_set)
        pr, v = self.ev.evaluate(planes)
        board = symmetry.to_board_frame(pr, syms, self.size)
        if self.cache.max_entries == 0:
            return board, np.asarray(v, np.float32)
        for j, i in enumerate(miss):
            self.cache.put(int(keys[i]), board[j].copy(), float(v[j]))
        priors[miss], values[miss] = board, v
        return priors, values

    def _root_priors(self, pos: Position) -> np.ndarray:
        """The root's priors over its legal moves: averaged over the 8 symmetries with
        ``root_symmetries`` 8 (as KataGo's rootNumSymmetriesToSample 8), else one view."""
        if self.cfg.root_symmetries > 1 and self.ev.has_policy:
            return evaluate_ensemble(self.ev, [pos])[0][0]
        return self._evaluate_positions([pos])[0][0]

    def _evaluate_positions(self, positions):
        """Masked priors and values for whole positions (the root)."""
        sts = np.stack([p.st for p in positions])
        metas = np.stack([p.meta for p in positions])
        lasts = np.stack([last_moves(p).astype(np.int32) for p in positions])
        keys = np.array([ks.position_key(m, la) for m, la in zip(metas, lasts)], np.int64)
        priors, values = self._net(sts, metas, lasts, keys)
        for i, p in enumerate(positions):  # priors are in the board's frame already
            priors[i] = orient_and_mask(priors[i], 0, p.legal_moves(), self.size)
        return priors, values

    # ----- simulations ---------------------------------------------------------
    def run(self, pos: Position, visits: int | None = None, seconds: float | None = None,
            stop: Callable[[], bool] | None = None, on_batch: Callable[[], None] | None = None
            ) -> int:
        """Simulate from the root until ``visits`` new simulations, ``seconds``, or
        ``stop()``; returns the simulations done. ``on_batch`` is called on the calling
        thread after each of its batches (other threads' batches may be in flight: read
        the tree through ``settled()``)."""
        if visits is None and seconds is None and stop is None:
            visits = self.cfg.visits  # no budget given: the configured one
        budget = _Budget(visits, seconds, stop, self.cfg.batch_size)
        root_last = last_moves(pos).astype(np.int32)
        errors: list[BaseException] = []  # list.append is atomic: the threads share it
        helpers = [threading.Thread(target=self._search_thread, name=f"search-{i}",
                                    args=(pos, root_last, budget, w, None, errors), daemon=True)
                   for i, w in enumerate(self._workers[1:], 1)]
        for t in helpers:
            t.start()
        self._search_thread(pos, root_last, budget, self._workers[0], on_batch, errors)
        for t in helpers:
            t.join()
        if errors:
            raise errors[0]
        return budget.done

    def _search_thread(self, pos, root_last, budget: _Budget, worker: _Worker,
                       on_batch, errors: list) -> None:
        try:
            while True:
                b = budget.claim()
                if b == 0:
                    return
                budget.finished(self._batch(pos, root_last, b, worker))
                if on_batch is not None:
                    on_batch()
        except BaseException as e:  # stop the others; run() raises it on the caller
            with budget.lock:
                budget.failed = True
            errors.append(e)
            if worker.leaves is not None:  # take the batch's virtual loss back out
                with self._lock:
                    ks.shift_virtual_loss(self._tree, worker.leaves, -self.cfg.virtual_loss)
                    worker.leaves = None

    @contextlib.contextmanager
    def settled(self):
        """Hold the tree still, without the virtual losses of batches in flight, for as
        long as the block reads it."""
        with self._lock:
            flying = [w for w in self._workers if w.leaves is not None]
            for w in flying:
                ks.shift_virtual_loss(self._tree, w.leaves, -self.cfg.virtual_loss)
            try:
                yield self
            finally:
                for w in flying:
                    ks.shift_virtual_loss(self._tree, w.leaves, self.cfg.virtual_loss)

    def _buffers(self, worker: _Worker, b: int):
        if worker.buf is None or worker.buf["st"].shape[0] < b:
            nn, a = self.size * self.size, self.size * self.size + 1
            worker.buf = {"st": np.zeros((b, kb.NF, nn), np.int32),
                          "meta": np.zeros((b, kb.NM), np.int64),
                          "last": np.zeros((b, HISTORY), np.int32),
                          "mask": np.zeros((b, a), np.uint8),
                          "ps": np.zeros((b, MAX_DEPTH), np.int64),
                          "pa": np.zeros((b, MAX_DEPTH), np.int64),
                          "depth": np.zeros(b, np.int64), "status": np.zeros(b, np.int64),
                          "key": np.zeros(b, np.int64)}
        return {k: v[:b] for k, v in worker.buf.items()}

    def _batch(self, pos: Position, root_last: np.ndarray, b: int, worker: _Worker) -> int:
        """One batch of simulations: compiled selection under the tree's lock, one network
        call for the leaves that need it (minus cache hits) and rollouts outside it,
        compiled backup under it again."""
        cfg = self.cfg
        nbr, diag, zob = self.nbr, self.diag, self.zob
        x = self._buffers(worker, b)
        tree = self._tree
        leaves = ks.Leaves(x["st"], x["meta"], x["last"], x["mask"], x["ps"], x["pa"],
                           x["depth"], x["status"], x["key"])
        with self._lock:
            ks.gather(tree, pos.st, pos.meta, pos.hist, root_last, nbr, zob, cfg.c_puct,
                      cfg.virtual_loss, self.expand_visits, self.need_net, leaves, self.banned)
            worker.leaves = leaves
        status = x["status"]
        a = self.size * self.size + 1
        net = np.flatnonzero(status >= ks.NET_EXPAND)
        if len(net) == b:  # the usual case: every leaf goes to the network, no copies
            priors, vnet = self._net(x["st"], x["meta"], x["last"], x["key"], worker.rng)
        else:
            priors = np.zeros((b, a), np.float32)
            vnet = np.zeros(b, np.float32)
            if len(net):
                priors[net], vnet[net] = self._net(x["st"][net], x["meta"][net],
                                                   x["last"][net], x["key"][net], worker.rng)
        z = np.zeros(b, np.float32)
        if self.use_rollouts:
            live = np.flatnonzero(status >= ks.ROLLOUT_ONLY)
            if len(live):
                sel = slice(None) if len(live) == b else live
                z[sel] = kr.rollouts(x["st"][sel], x["meta"][sel], nbr, diag, zob, pos.komi,
                                  cfg.rollout_moves_per_point * self.size * self.size,
                                  worker.rng.integers(0, 2**31, len(live)),
                                  self.rollout_weights)
        with self._lock:
            ks.scatter(tree, leaves, priors, vnet, z, self.use_value, self.use_rollouts,
                       cfg.mix_lambda, nbr, pos.komi, cfg.virtual_loss)
            worker.leaves = None
        return b

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
            line = [int(x) for x in pv[:k]]
            out.append(MoveInfo(int(a), int(n[a]), float(wr), float(self.P[root, a]),
                                float(lcb), line, self._line_visits(root, line)))
        out.sort(key=lambda m: (-m.visits, -m.winrate))
        return out

    def _line_visits(self, node: int, line: list[int]) -> list[int]:
        """The visits of each edge along ``line`` from ``node``."""
        out = []
        for move in line:
            if node < 0:
                break
            out.append(int(self.N[node, move]))
            node = int(self.C[node, move])
        return out

    def nodes(self) -> int:
        """Nodes in use in the preallocated pool."""
        return int(self.info[kt.I_NODES])

    def root_visits(self) -> int:
        return int(self.N[self.info[kt.I_ROOT]].sum())

    def root_leaders(self) -> tuple[int, int, float, float, int]:
        """Visits and winrates (0..1, for the side to move) of the root's two most visited
        moves, and the root's visits in all; cheap enough for every batch, read as the
        tree stands (virtual losses of batches in flight included)."""
        root = self.info[kt.I_ROOT]
        n = self.N[root]
        top = np.argpartition(n, -2)[-2:]
        first, second = (top[1], top[0]) if n[top[1]] >= n[top[0]] else (top[0], top[1])
        n1, n2 = int(n[first]), int(n[second])
        q1 = float(self.W[root, first]) / n1 if n1 else 0.0
        q2 = float(self.W[root, second]) / n2 if n2 else 0.0
        return n1, n2, (q1 + 1) / 2, (q2 + 1) / 2, int(n.sum())

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
        return sample_move(n, temperature, self.rng)


def _geometry(n):
    from alphago.board import geometry
    return geometry(n)


def _zob(n):
    from alphago.board import zobrist_keys
    return zobrist_keys(n)
