"""Self-play games with batched network inference shared by all games of a worker.

``play_games`` runs many games at once: every step, the positions of all unfinished
games go through the network in one forward pass per evaluator (the player to
move's; an opponent evaluator lets the current policy face an earlier one, as
AlphaGo's RL stage does). Moves are sampled from the legal, sensible part of
the policy (temperature 1 by default, as the paper's RL games were), games end
at two passes or a move cap and are scored on area; with nothing sensible left
to play, dead stones have been captured, so the count is exact.
Outputs are the SGFs and position shards in the format ``dataset`` reads, the
outcome of each position stored from the mover's view.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from alphago import dataset, sgf
from alphago.board import BLACK, WHITE, Position
from alphago.evaluator import Evaluator, sample_move


@dataclasses.dataclass(frozen=True)
class SelfPlayConfig:
    games: int = 64
    size: int = 19
    komi: float = 7.5
    max_moves: int | None = None  # None: 2 * size^2
    temperature: float = 1.0
    greedy_after: int | None = None  # play the most probable move after this many moves
    seed: int = 0


@dataclasses.dataclass
class SelfPlayGame:
    moves: list[tuple[int, int]]
    result: str
    winner: int  # BLACK, WHITE or 0
    black: str
    white: str
    resign_allowed: bool = True
    # colours whose search value stayed under the resign threshold long enough to resign
    # (recorded in no-resign games, to measure the threshold's false positives)
    would_resign: tuple[int, ...] = ()
    # search self-play: the root visit distribution ({move: share}) before each move
    visit_targets: list[dict[int, float]] | None = None
    # search self-play: the search's root value before each move, from the mover's view
    # (-1..1), every move's (full and cheap searches): the value head's optional q target
    root_values: list[float] | None = None


@dataclasses.dataclass(frozen=True)
class SearchSelfPlayConfig:
    """Self-play with search (AlphaGo Zero style): root noise, temperature 1 for the
    first ``temperature_moves`` moves then the most visited move, resignation except in
    a ``no_resign_fraction`` share of games.

    Playout-cap randomisation (KataGo) when ``cheap_visits`` is set: a ``full_fraction``
    share of the moves, drawn at random, is searched with ``visits`` and root noise and
    records its visit distribution; the others are searched with ``cheap_visits`` and no
    noise and record no policy target (their positions train the value only). Games get
    cheaper, so more of them (more outcomes for the value) come from the same CPU time."""

    visits: int = 200
    cheap_visits: int | None = None
    full_fraction: float = 0.25
    # KataGo's policy-target pruning: visits that root noise and exploration alone gave a
    # move are taken out of its target (``pruned_visits``)
    prune_targets: bool = False
    noise: float = 0.25
    temperature_moves: int | None = None  # None: size^2 / 12
    resign_threshold: float = -0.9
    no_resign_fraction: float = 0.1
    rollouts: bool = False
    batch_size: int = 8

    @property
    def mix_lambda(self) -> float:
        """The search's rollout weight at the leaves: AlphaGo's 0.5 with rollouts, else 0."""
        return 0.5 if self.rollouts else 0.0

    def sampled_moves(self, size: int) -> int:
        """Moves played at temperature 1 (then the most visited move)."""
        return self.temperature_moves if self.temperature_moves is not None else size * size // 12


def search_player(ev: Evaluator, scfg: SearchSelfPlayConfig, seed: int):
    """The player of search self-play (an ``MCTSPlayer`` under the self-play pass rule,
    searching with ``scfg``'s visits, rollouts, resign threshold and batch)."""
    from alphago.config import SearchConfig
    from alphago.player import MCTSPlayer

    search = SearchConfig(visits=scfg.visits, rollouts=scfg.rollouts,
                          mix_lambda=scfg.mix_lambda,
                          resign_threshold=scfg.resign_threshold, batch_size=scfg.batch_size,
                          max_nodes=max(2000, 4 * scfg.visits * 2), seed=seed)
    return MCTSPlayer(ev, search, playout_rules=True)


def playout_cap_error(visits: int, cheap_visits: int | None, full_fraction: float
                      ) -> str | None:
    """What is wrong with a playout-cap setting, as a flag's error message (None: fine)."""
    if cheap_visits is None:
        return None
    if visits <= 0:
        return "--cheap-visits needs --visits > 0 (search self-play)"
    if not 1 <= cheap_visits < visits:
        return "--cheap-visits must be within 1..(--visits - 1)"
    if not 0.0 < full_fraction <= 1.0:
        return "--full-fraction must be within (0, 1]"
    return None


def play_games(black_ev: Evaluator, cfg: SelfPlayConfig, white_ev: Evaluator | None = None,
               names: tuple[str, str] = ("current", "current"),
               starts: list[Position] | None = None) -> list[SelfPlayGame]:
    """Play ``cfg.games`` games; with ``white_ev`` the evaluators swap colours every other
    game so that each side plays both colours. ``starts``: play one game on from (a copy
    of) each of these positions instead, their moves counting toward ``greedy_after``."""
    from alphago.player import PolicyPlayer

    rng = np.random.default_rng(cfg.seed)
    white_ev = white_ev or black_ev
    players = {id(ev): PolicyPlayer(ev, cfg.temperature, rng, playout_rules=True)
               for ev in (black_ev, white_ev)}  # the gate's --playout-rules player
    max_moves = cfg.max_moves or 2 * cfg.size * cfg.size
    positions = ([p.copy() for p in starts] if starts is not None else
                 [Position(cfg.size, cfg.komi, superko=True) for _ in range(cfg.games)])
    sides = [(black_ev, white_ev) if g % 2 == 0 else (white_ev, black_ev)
             for g in range(len(positions))]
    active = list(range(len(positions)))
    while active:
        by_ev: dict[int, list[int]] = {}
        for g in active:
            pos = positions[g]
            ev = sides[g][0] if pos.to_move == BLACK else sides[g][1]
            by_ev.setdefault(id(ev), []).append(g)
        for group in by_ev.values():
            pos0 = positions[group[0]]
            ev = sides[group[0]][0] if pos0.to_move == BLACK else sides[group[0]][1]
            priors = players[id(ev)].move_priors([positions[g] for g in group])
            for g, pr in zip(group, priors):
                pos = positions[g]
                greedy = cfg.greedy_after is not None and pos.move_number >= cfg.greedy_after
                pos.play(sample_move(pr, 0.0 if greedy else cfg.temperature, rng))
        active = [g for g in active
                  if positions[g].passes < 2 and positions[g].move_number < max_moves]
    games = []
    for g, pos in enumerate(positions):
        result = pos.result_string()
        swap = g % 2 == 1
        games.append(SelfPlayGame(list(pos.moves), result, sgf.parse_winner(result),
                                  names[1] if swap else names[0], names[0] if swap else names[1]))
    return games


def play_search_games(ev: Evaluator, cfg: SelfPlayConfig, scfg: SearchSelfPlayConfig,
                      name: str = "current") -> list[SelfPlayGame]:
    """``cfg.games`` games of the searching player against itself, one after another
    (the search batches its own leaves for the network)."""
    from alphago import scoring
    from alphago.player import RESIGN

    rng = np.random.default_rng(cfg.seed)
    n = cfg.size
    max_moves = cfg.max_moves or 2 * n * n
    t_moves = scfg.sampled_moves(n)
    player = search_player(ev, scfg, cfg.seed)
    search = player.cfg
    games = []
    for _ in range(cfg.games):
        player.new_game()
        allow = rng.random() >= scfg.no_resign_fraction
        pos = Position(n, cfg.komi, superko=True)
        would: set[int] = set()
        targets: list[dict[int, float]] = []
        values: list[float] = []
        result = ""
        while pos.passes < 2 and pos.move_number < max_moves:
            mover = pos.to_move
            full = scfg.cheap_visits is None or rng.random() < scfg.full_fraction
            res = player.genmove(pos, temperature=1.0 if pos.move_number < t_moves else 0.0,
                                 noise=scfg.noise if full else 0.0, allow_resign=allow,
                                 visits=None if full else scfg.cheap_visits)
            if res.move == RESIGN:
                result = f"{'W' if mover == BLACK else 'B'}+R"
                break
            if res.hopeless:  # in a game without resignation: it would have resigned here
                would.add(mover)
            targets.append(visit_distribution(res, pos.pass_move,
                                              search.c_puct if scfg.prune_targets else None)
                           if full else {})
            values.append(2.0 * res.root_winrate - 1.0)
            pos.play(res.move)
        if not result:
            result = scoring.final_score(pos, seed=int(rng.integers(1 << 30)))
        games.append(SelfPlayGame(list(pos.moves), result, sgf.parse_winner(result), name, name,
                                  allow, tuple(sorted(would)), targets, values))
    return games


def visit_distribution(res, pass_move: int | None = None, prune_c_puct: float | None = None
                       ) -> dict[int, float]:
    """The root's visit shares of a search result ({move: share}), the policy target of
    expert iteration ({} for a position that trains the value only). With ``pass_move``: a
    pass the player was not allowed (it played another move, under the self-play pass
    rule) is left out, so the net does not learn to pass where it may not. With
    ``prune_c_puct`` (the search's c_puct) the visits are ``pruned_visits``."""
    if prune_c_puct is not None:
        visits = pruned_visits(res.candidates, prune_c_puct)
    else:
        visits = {c.move: c.visits for c in res.candidates if c.move >= 0 and c.visits > 0}
    if pass_move is not None and res.move != pass_move:
        visits.pop(pass_move, None)
    if res.move not in visits:  # the rules forced a move the search did not visit
        return {res.move: 1.0}
    total = sum(visits.values())
    return {m: v / total for m, v in visits.items()}


def pruned_visits(candidates, c_puct: float) -> dict[int, int]:
    """KataGo's policy-target pruning, for AlphaGo's selection rule ``Q + c_puct P
    sqrt(N) / (1 + n)`` (P: the root's prior as the search used it, noise included).
    Every move but the most visited keeps only the visits it would have drawn against the
    most visited move's final score: the fewest n' at which its own score falls to that
    level; a move left with one visit or none drops out. The visits a move drew through a
    high noisy prior while its value stayed low are thus not taught as policy."""
    cands = [c for c in candidates if c.move >= 0 and c.visits > 0]
    if not cands:
        return {}
    best = max(cands, key=lambda c: c.visits)
    sq = math.sqrt(sum(c.visits for c in cands))
    best_score = (2 * best.winrate - 1) + c_puct * best.prior * sq / (1 + best.visits)
    out = {best.move: best.visits}
    for c in cands:
        if c is best:
            continue
        gap = best_score - (2 * c.winrate - 1)
        keep = (c.visits if gap <= 0 else
                min(c.visits, max(0, math.ceil(c_puct * c.prior * sq / gap - 1))))
        if keep > 1:
            out[c.move] = keep
    return out


def completed_q_target(prior: np.ndarray, candidates, root_value: float,
                       c_visit: float = 50.0, c_scale: float = 1.0) -> np.ndarray:
    """The policy-improvement target of Gumbel MuZero (Danihelka et al. 2022) from a PUCT
    search: softmax(log prior + (c_visit + max N) c_scale completedQ), where a visited
    move's completed Q is its mean value (winrate, 0..1, for the player to move) and an
    unvisited one's the root's mixed value: the net's own ``root_value`` (-1..1, for the
    player to move) blended with the prior-weighted mean Q of the visited moves by their
    visits. ``prior``: over every move (zeros where illegal); returns the same shape."""
    logp = np.full(prior.shape, -np.inf)
    legal = prior > 0
    logp[legal] = np.log(prior[legal])
    visited = [c for c in candidates if c.move >= 0 and c.visits > 0]
    v_hat = (root_value + 1) / 2
    total = sum(c.visits for c in visited)
    p_vis = sum(float(prior[c.move]) for c in visited)
    mixed = v_hat
    if total and p_vis > 0:
        mean_q = sum(float(prior[c.move]) * c.winrate for c in visited) / p_vis
        mixed = (v_hat + total * mean_q) / (1 + total)
    q = np.full(prior.shape, mixed)
    for c in visited:
        q[c.move] = c.winrate
    scale = (c_visit + max((c.visits for c in visited), default=0)) * c_scale
    z = logp + scale * q
    z = np.exp(z - z[legal].max())
    return z / z.sum()


def resign_false_positives(games: list[SelfPlayGame]) -> dict:
    """In no-resign games: how often a side that would have resigned went on to win."""
    checked = [g for g in games if not g.resign_allowed]
    would = [(g, c) for g in checked for c in g.would_resign]
    wrong = sum(1 for g, c in would if g.winner == c)
    return {"no_resign_games": len(checked), "would_resign": len(would),
            "false_positives": wrong,
            "false_positive_rate": wrong / len(would) if would else 0.0}


def game_record(game: SelfPlayGame, cfg: SelfPlayConfig, name: str) -> sgf.GameRecord:
    return sgf.GameRecord(name=name, size=cfg.size, komi=cfg.komi, handicap=0,
                          result=game.result, moves=game.moves, black_name=game.black,
                          white_name=game.white)


def _learner_only(arrays: dataset.GameArrays, game: SelfPlayGame, learner: str
                  ) -> dataset.GameArrays:
    colours = [c for c, name in ((BLACK, game.black), (WHITE, game.white)) if name == learner]
    return arrays.select(np.isin(arrays.to_move, colours))


def write_games(games: list[SelfPlayGame], cfg: SelfPlayConfig, out_dir: str | Path,
                prefix: str = "game", first_id: int = 0, shard_size: int = 250_000,
                val_fraction: float = 0.05, learner: str | None = None) -> dict:
    """SGFs under out/sgf and position shards under out/train and out/val (split by
    game, as prepare_data does); game ids start at first_id. With ``learner``, only the
    positions where that player was to move go into the shards (policy-gradient
    training learns from its own moves, not the opponent's)."""
    import json

    out = Path(out_dir)
    (out / "sgf").mkdir(parents=True, exist_ok=True)
    writers = {s: dataset.ShardWriter(out, s, shard_size) for s in ("train", "val")}
    for i, game in enumerate(games):
        gid = first_id + i
        (out / "sgf" / f"{prefix}_{gid:06d}.sgf").write_bytes(
            sgf.game_to_sgf(cfg.size, game.moves, komi=cfg.komi, result=game.result,
                            black=game.black, white=game.white))
        rec = game_record(game, cfg, f"{prefix}_{gid}")
        arrays = dataset.game_arrays(rec)
        if game.visit_targets is not None:
            arrays.pi_moves, arrays.pi_probs = dataset.sparse_targets(game.visit_targets)
        if game.root_values is not None:
            arrays.q = np.asarray(game.root_values, np.float16)
        if learner is not None:
            arrays = _learner_only(arrays, game, learner)
        if len(arrays.move):
            writers[sgf.split_of(rec, val_fraction)].add(arrays, gid)
    for w in writers.values():
        w.flush()
    (out / "summary.json").write_text(json.dumps({"board_size": cfg.size,
                                                  "source": "self-play"}))
    return {"games": len(games),
            "moves": sum(len(g.moves) for g in games),
            "positions": {s: w.positions for s, w in writers.items()},
            "black_wins": sum(g.winner == BLACK for g in games),
            "white_wins": sum(g.winner == WHITE for g in games),
            "resign": resign_false_positives(games)}
