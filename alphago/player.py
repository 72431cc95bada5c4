"""Players: what GTP, self-play and matches ask for a move.

``MCTSPlayer`` searches with a visit and/or time budget, reuses its tree,
resigns only after several hopeless moves outside the opening, and reports the
analysis (visits, winrate, prior, lcb, pv per candidate) that GTP streams.
``PolicyPlayer`` plays the network's top legal move without search.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import numpy as np

from alphago import symmetry
from alphago.board import BLACK, WHITE, Position
from alphago.config import SearchConfig
from alphago.evaluator import Evaluator, evaluate_ensemble, evaluate_positions, sample_move
from alphago.mcts import MCTS, MoveInfo, SearchResult
from alphago.timecontrol import MoveTime, keep_searching

log = logging.getLogger("alphago.player")
RESIGN = -1  # a move value meaning "resign"


def settled(pos: Position) -> bool:
    """Every empty region borders one colour only: nothing is left to play for
    under area scoring (dead stones aside)."""
    owner = pos.area_owner()
    empty = pos.colors.ravel() == 0
    return bool(np.all(owner[empty] != 0))


def wins_if_game_ends(pos: Position, playouts: int = 64) -> bool:
    """Would the side to move win if the game ended now, dead stones removed by the
    playout judge (plain Tromp-Taylor would count hopeless stones as alive)?"""
    from alphago.scoring import dead_stones, without_dead

    score = without_dead(pos, dead_stones(pos, playouts)).score()
    return score > 0 if pos.to_move == 1 else score < 0


def playout_mask(pos: Position) -> np.ndarray:
    """The moves of a game played out: the sensible ones, pass only when none is left (so
    dead stones get captured and the area count at two passes is exact)."""
    mask = pos.sensible_moves()
    mask[pos.pass_move] = 0
    if not mask.any():
        mask[pos.pass_move] = 1
    return mask


def move_options(pos: Position, playout_rules: bool, cleanup: bool = False) -> np.ndarray:
    """The moves a player may play: the playout rules' mask, or the sensible moves (pass
    left out in cleanup while dead stones remain)."""
    if playout_rules:
        return playout_mask(pos)
    mask = pos.sensible_moves()
    if cleanup and not settled(pos):
        mask[pos.pass_move] = 0
    return mask


def within_root_bans(pos: Position, mask: np.ndarray, banned: np.ndarray | None
                     ) -> np.ndarray:
    """``mask`` less the moves the first row of ``banned`` (``mcts.ban_table``: analysis's
    avoid/allow at the root) leaves out. Where that leaves none, the legal moves the ban
    keeps (an allowed move the mask finds insensible, such as filling one's own eye, still
    comes before a banned one); where the ban keeps no legal move it gives way, as in the
    search, and ``mask`` stands."""
    if banned is None or not len(banned):
        return mask
    kept = (banned[0] == 0).astype(mask.dtype)
    for moves in (mask * kept, pos.legal_moves().astype(mask.dtype) * kept):
        if moves.any():
            return moves
    return mask


def pass_banned(pos: Position, banned: np.ndarray | None) -> bool:
    """Whether the root's ban leaves passing out (so no shortcut may pass)."""
    return banned is not None and len(banned) > 0 and bool(banned[0, pos.pass_move])


class PolicyPlayer:
    """The policy network's most probable sensible move, no search (deterministic); with
    ``temperature`` > 0 a move sampled from the sensible priors ^ (1 / temperature), as
    the paper's RL-vs-SL games were played.

    ``playout_rules``: play as self-play does (``selfplay.play_games`` plays with this
    player): each position is shown to the net under a random symmetry and the player
    passes only when nothing sensible is left. Otherwise (the engine's default) the net
    sees the board as it is, may pass when it prefers to, and passes after the opponent's
    pass when it wins as the board stands. ``symmetries`` 8: the priors averaged over the
    board's 8 symmetries (the paper's ensemble: one forward pass of 8 planes a move, a
    higher top-1) in place of one view. ``seed`` may be a numpy Generator to share."""

    searches = False  # no tree: nothing to ponder, no visit counts to show

    def __init__(self, evaluator: Evaluator, temperature: float = 0.0,
                 seed: int | np.random.Generator = 0, playout_rules: bool = False,
                 symmetries: int = 1):
        if symmetries not in (1, symmetry.NUM_SYMMETRIES):
            raise ValueError(f"symmetries must be 1 or 8, not {symmetries}")
        self.ev = evaluator
        self.symmetries = symmetries
        self.temperature = temperature
        self.rng = np.random.default_rng(seed)
        self.playout_rules = playout_rules

    def policy(self, pos: Position) -> np.ndarray:
        """The priors shown in analysis: the board as it is (or the ensemble)."""
        if self.symmetries > 1:
            return evaluate_ensemble(self.ev, [pos])[0][0]
        return evaluate_positions(self.ev, [pos])[0][0]

    def _priors(self, positions: list[Position], masks=None) -> np.ndarray:
        if self.symmetries > 1:
            return evaluate_ensemble(self.ev, positions, masks)[0]
        syms = (self.rng.integers(0, symmetry.NUM_SYMMETRIES, len(positions))
                if self.playout_rules else None)
        return evaluate_positions(self.ev, positions, syms, masks)[0]

    def move_priors(self, positions: list[Position], cleanup: bool = False) -> np.ndarray:
        """[B, n*n+1] priors over the moves this player may play in each position (one
        board size, one forward pass); all zero where it can only pass."""
        if self.playout_rules:
            return self._priors(positions, [playout_mask(p) for p in positions])
        priors = self._priors(positions)
        for pr, pos in zip(priors, positions):
            pr *= move_options(pos, False, cleanup)
        return priors

    def genmove(self, pos: Position, seconds: float | None = None, cleanup: bool = False,
                banned: np.ndarray | None = None, **_) -> SearchResult:
        """``banned`` (``mcts.ban_table``): its first row's moves are left out, unless
        that leaves none."""
        t0 = time.perf_counter()
        priors = self.move_priors([pos], cleanup)[0]
        if banned is not None and len(banned):
            mask = within_root_bans(pos, move_options(pos, self.playout_rules, cleanup), banned)
            kept = priors * mask
            # only insensible moves or a pass left: their raw priors
            priors = kept if kept.sum() > 0 else self._priors([pos])[0] * mask
        if (not self.playout_rules and pos.last_move == pos.pass_move
                and not pass_banned(pos, banned) and wins_if_game_ends(pos)):
            move = pos.pass_move  # the opponent passed and we win as the board stands
        else:
            move = (sample_move(priors, self.temperature, self.rng) if priors.sum() > 0
                    else pos.pass_move)
        cand = [MoveInfo(move, 1, 0.5, float(priors[move]), 0.5, [move], [1])]
        return SearchResult(move, 0.5, 1, cand, time.perf_counter() - t0)

    def analyze(self, pos: Position, stop: threading.Event, interval: float,
                report: Callable[[SearchResult], None], banned: np.ndarray | None = None
                ) -> None:
        report(self.genmove(pos, banned=banned))
        stop.wait()

    def new_game(self) -> None:
        pass

    def ponder(self, pos: Position, stop: Callable[[], bool]) -> None:
        pass  # nothing to prepare without a search


class MCTSPlayer:
    searches = True

    def __init__(self, evaluator: Evaluator, cfg: SearchConfig,
                 rollout_weights: np.ndarray | None = None, playout_rules: bool = False):
        """``playout_rules``: the pass rule of search self-play (pass only when nothing
        sensible is left, never because the opponent passed), as the RL loop's gate plays."""
        self.ev = evaluator
        self.cfg = cfg
        self.rollout_weights = rollout_weights
        self.playout_rules = playout_rules
        self.trees: dict[int, MCTS] = {}
        self.hopeless = {BLACK: 0, WHITE: 0}
        self.lock = threading.Lock()

    def tree(self, size: int) -> MCTS:
        if size not in self.trees:
            # one board size at a time
            self.trees = {size: MCTS(self.ev, self.cfg, size, self.rollout_weights)}
        return self.trees[size]

    def clear(self) -> None:
        """Forget every tree and its evaluation cache."""
        with self.lock:
            self.trees = {}

    def new_game(self) -> None:
        self.hopeless = {BLACK: 0, WHITE: 0}
        for t in self.trees.values():
            t.root_moves = None

    def policy(self, pos: Position) -> np.ndarray:
        priors, _ = evaluate_positions(self.ev, [pos])
        return priors[0]

    def search(self, pos: Position, visits: int | None = None, seconds: float | None = None,
               stop: Callable[[], bool] | None = None, noise: float = 0.0,
               on_batch: Callable[[], None] | None = None,
               banned: np.ndarray | None = None) -> MCTS:
        with self.lock:
            t = self.tree(pos.size)
            t.set_root(pos, noise, banned)
            t.run(pos, visits, seconds, stop, on_batch)
            return t

    def ponder(self, pos: Position, stop: Callable[[], bool]) -> None:
        """Search ``pos`` (the opponent's turn) until ``stop()`` or half the node pool is
        used; the tree is kept, so the next genmove starts from it."""
        cap = int(self.cfg.ponder_fill * self.cfg.max_nodes)
        self.search(pos, stop=lambda: stop() or self.tree(pos.size).nodes() >= cap)

    def result(self, t: MCTS, t0: float) -> SearchResult:
        """The search so far (safe while other search threads still run)."""
        with t.settled():
            cands = t.candidates()
            move = t.choose(0.0)
            visits = t.root_visits()
        wr = cands[0].winrate if cands else 0.5
        return SearchResult(move, wr, visits, cands, time.perf_counter() - t0)

    def genmove(self, pos: Position, seconds: float | MoveTime | None = None,
                cleanup: bool = False, temperature: float = 0.0, noise: float = 0.0,
                allow_resign: bool = True, visits: int | None = None,
                banned: np.ndarray | None = None,
                interrupt: Callable[[], bool] | None = None) -> SearchResult:
        """``seconds``: a cap, or a clock's ``MoveTime`` (a target the search stops at
        when it is clear, a maximum it may go on to while the best moves are close);
        ``SearchConfig.seconds`` caps either, ``SearchConfig.visits`` too (``visits``
        replaces ``SearchConfig.visits`` for this move). ``banned``: moves the search
        leaves out (``mcts.ban_table``). ``interrupt()`` true: answer with the best move
        found so far."""
        t0 = time.perf_counter()
        if visits is None:
            visits = self.cfg.visits if self.cfg.visits > 0 else None
        if isinstance(seconds, MoveTime):
            move_time = seconds.capped(self.cfg.seconds)
            clock_stop = self._time_manager(pos, move_time, t0)
            t = self.search(pos, visits, move_time.maximum, noise=noise, banned=banned,
                            stop=lambda: clock_stop() or (interrupt is not None and interrupt()))
        else:
            limits = [s for s in (seconds, self.cfg.seconds) if s is not None]
            secs = min(limits) if limits else None
            if visits is None and secs is None:
                visits = SearchConfig.visits
            t = self.search(pos, visits, secs, noise=noise, banned=banned, stop=interrupt)
        res = self.result(t, t0)
        mask = within_root_bans(pos, move_options(pos, self.playout_rules, cleanup), banned)
        move = t.choose(temperature)
        if not mask[move]:
            order = [c.move for c in res.candidates if mask[c.move]]
            move = order[0] if order else (pos.pass_move if mask[pos.pass_move] else
                                           int(np.argmax(t.root_priors() * mask)))
        if (pos.last_move == pos.pass_move and res.root_winrate > 0.5 and not cleanup
                and not self.playout_rules and not pass_banned(pos, banned)):
            if wins_if_game_ends(pos):
                move = pos.pass_move  # the opponent passed and we win as the board stands
        res.move = move
        res.hopeless = self._hopeless(pos, res)
        if allow_resign and res.hopeless:
            res.move = RESIGN
        return res

    def _time_manager(self, pos: Position, move_time: MoveTime, t0: float
                      ) -> Callable[[], bool]:
        """The search's stop test under a clock (``timecontrol.keep_searching``) over the
        root's two most visited moves; visits from pondering count, so a move the tree
        already knows is played quickly."""
        tree = self.tree(pos.size)
        start = [None]  # root visits when this move's search began

        def stop() -> bool:
            n1, n2, q1, q2, total = tree.root_leaders()
            if start[0] is None:
                start[0] = total
            elapsed = time.perf_counter() - t0
            rate = (total - start[0]) / max(elapsed, 1e-6)
            return not keep_searching(elapsed, move_time, n1, n2, q1, q2, rate)

        return stop

    def _hopeless(self, pos: Position, res: SearchResult) -> bool:
        """Count the mover's moves in a row whose root value is below the resign threshold
        outside the opening (each colour apart: the player may play both sides); True
        once there are ``resign_moves`` of them."""
        q = 2 * res.root_winrate - 1
        color = pos.to_move
        late = pos.move_number > pos.size * pos.size // 4
        low = q < self.cfg.resign_threshold and late
        self.hopeless[color] = self.hopeless[color] + 1 if low else 0
        return self.cfg.resign_threshold > -1 and self.hopeless[color] >= self.cfg.resign_moves

    def analyze(self, pos: Position, stop: threading.Event, interval: float,
                report: Callable[[SearchResult], None], banned: np.ndarray | None = None
                ) -> None:
        """Search until ``stop`` is set, calling report() every ``interval`` seconds;
        ``banned``: moves the search leaves out (``mcts.ban_table``)."""
        t0 = time.perf_counter()
        last = [time.perf_counter()]
        tref = {}

        def on_batch():
            if time.perf_counter() - last[0] >= interval:
                last[0] = time.perf_counter()
                report(self.result(tref["t"], t0))

        with self.lock:
            t = self.tree(pos.size)
            tref["t"] = t
            t.set_root(pos, banned=banned)
            # past a full node pool the search goes on without expanding (values still
            # come in, evaluations from the cache), so memory stays bounded
            t.run(pos, visits=None, seconds=None, stop=stop.is_set, on_batch=on_batch)
        if not stop.is_set():
            report(self.result(t, t0))
            stop.wait()
