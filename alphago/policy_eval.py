"""Top-1 / top-5 / NLL of a policy network over the main lines of SGF games."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from alphago import dataset, features, sgf, symmetry
from alphago.evaluator import evaluate_positions
from alphago.selfplay import completed_q_target, visit_distribution


def _records(source, split: str, val_fraction: float, size: int, stats: sgf.SkipStats):
    """The usable records of one board size in ``split`` (``all``, ``train`` or ``val``)."""
    gf = sgf.GameFilter(sizes=(size,), min_moves=1, validate=False)
    for rec in sgf.load_games(source, gf, stats):
        if split == "all" or sgf.split_of(rec, val_fraction) == split:
            yield rec


def _positions(source, split: str, val_fraction: float, size: int, stats: sgf.SkipStats):
    for rec in _records(source, split, val_fraction, size, stats):
        try:
            yield dataset.game_arrays(rec)
        except sgf.BadGame as exc:
            stats.skip(exc.reason, rec.name, exc.detail)


@torch.no_grad()
def evaluate_policy(model, source, max_positions=None, symmetries=1, split="all",
                    val_fraction=0.02, batch_size=256, device="cpu") -> dict:
    """``model``: a GoNet, or an Evaluator (anything with ``evaluate`` and
    ``feature_set``/``board_size``) such as an ONNX backend."""
    if hasattr(model, "evaluate"):
        fs, n = model.feature_set, model.board_size
    else:
        fs, n = features.get_feature_set(model.cfg.feature_set), model.cfg.board_size
    stats = sgf.SkipStats()
    buf: list[dataset.GameArrays] = []
    totals = {"positions": 0, "top1": 0.0, "top5": 0.0, "nll": 0.0}

    def flush(arrays):
        colors = np.concatenate([a.colors for a in arrays])
        to_move = np.concatenate([a.to_move for a in arrays])
        ko = np.concatenate([a.ko for a in arrays])
        last = np.concatenate([a.last for a in arrays])
        moves = torch.from_numpy(np.concatenate([a.move for a in arrays]).astype(np.int64))
        probs = 0
        for s in range(symmetries):
            planes = features.batch_planes(colors, to_move, ko, last,
                                           np.full(len(moves), s), n, fs)
            if hasattr(model, "evaluate"):  # an Evaluator backend
                p = torch.from_numpy(model.evaluate(planes)[0])
            else:
                logits, _ = model(torch.from_numpy(planes).float().to(device))
                p = torch.softmax(logits.float(), 1).cpu()
            probs = probs + torch.from_numpy(
                symmetry.to_board_frame(p.numpy(), np.full(len(p), s), n))
        probs = probs / symmetries
        totals["positions"] += len(moves)
        totals["top1"] += (probs.argmax(1) == moves).sum().item()
        totals["top5"] += (probs.topk(5, 1).indices == moves[:, None]).any(1).sum().item()
        totals["nll"] += -torch.log(probs[torch.arange(len(moves)), moves] + 1e-12).sum().item()

    pending = 0
    for arrays in _positions(source, split, val_fraction, n, stats):
        if max_positions is not None:
            room = max_positions - totals["positions"] - pending
            if room <= 0:
                break
            if len(arrays.move) > room:
                arrays = dataset.GameArrays(*(getattr(arrays, f)[:room] for f in
                                              ("colors", "to_move", "ko", "last", "move",
                                               "outcome")))
        buf.append(arrays)
        pending += len(arrays.move)
        if pending >= batch_size:
            flush(buf)
            buf, pending = [], 0
    if buf:
        flush(buf)
    count = max(1, totals["positions"])
    return {"positions": totals["positions"], "top1": totals["top1"] / count,
            "top5": totals["top5"] / count, "nll": totals["nll"] / count,
            "symmetries": symmetries, "skipped": dict(stats)}


def evaluate_search(player, source, max_positions: int, split: str = "all",
                    val_fraction: float = 0.02, stride: int = 10, noise: float = 0.0,
                    c_puct: float | None = None) -> dict:
    """How the search's choice and its expert-iteration policy target compare with the
    recorded moves: every ``stride``-th position of each usable game (pass moves left out),
    each searched from a fresh tree by ``player`` (an ``MCTSPlayer``; ``noise``: root
    Dirichlet noise, as search self-play records its targets with it).

    Returns the share of positions whose recorded move is the prior's first choice and the
    search's, the mean probability that the prior, the raw visit shares, the pruned visit
    shares (with ``c_puct``: ``selfplay.pruned_visits``) and the completed-Q target
    (``selfplay.completed_q_target``, and how often its first choice is the recorded move)
    give the recorded move, and, where the search chose another move than the prior's
    first choice, which of the two was the recorded one. A search that picks the recorded
    move less often than its prior teaches expert iteration moves that players of the
    records would not play."""
    stats = sgf.SkipStats()
    rows = []
    for rec in _records(source, split, val_fraction, player.ev.board_size, stats):
        if len(rows) >= max_positions:
            break
        try:
            for i, (pos, _, move) in enumerate(rec.replay(superko=True)):
                if len(rows) >= max_positions:
                    break
                if i % stride or move == pos.pass_move:
                    continue
                rows.append(_search_row(player, pos.copy(), move, noise, c_puct))
        except sgf.BadGame as exc:
            stats.skip(exc.reason, rec.name, exc.detail)
    return _search_summary(rows, stats)


class SearchRow(NamedTuple):
    """One searched position's figures against its recorded move."""

    prior_right: bool  # the prior's first choice is the recorded move
    search_right: bool  # the search's choice is
    prior_share: float  # the probability each target gives the recorded move
    visit_share: float
    pruned_share: float
    changed: bool  # the search chose another move than the prior's first choice
    completed_q_share: float
    completed_q_right: bool  # the completed-Q target's first choice is the recorded move


def _search_row(player, pos, move: int, noise: float, c_puct) -> SearchRow:
    """One position searched from a fresh tree, scored against ``move``."""
    player.new_game()
    priors, values = evaluate_positions(player.ev, [pos])
    prior = priors[0]
    res = player.genmove(pos, noise=noise, allow_resign=False)
    gumbel = completed_q_target(prior, res.candidates, float(values[0]))
    raw = visit_distribution(res, pos.pass_move)
    pruned = visit_distribution(res, pos.pass_move, c_puct) if c_puct is not None else raw
    first = int(np.argmax(prior))
    return SearchRow(first == move, res.move == move, float(prior[move]), raw.get(move, 0.0),
                     pruned.get(move, 0.0), res.move != first, float(gumbel[move]),
                     int(np.argmax(gumbel)) == move)


def _search_summary(rows: list[SearchRow], stats: sgf.SkipStats) -> dict:
    cols = {f: np.array([getattr(r, f) for r in rows], dtype=np.float64)
            for f in SearchRow._fields}
    changed = cols["changed"] > 0

    def mean(col):
        return float(col.mean()) if len(col) else 0.0

    return {"positions": len(rows), "prior_top1": mean(cols["prior_right"]),
            "search_top1": mean(cols["search_right"]),
            "prior_share": mean(cols["prior_share"]), "visit_share": mean(cols["visit_share"]),
            "pruned_share": mean(cols["pruned_share"]),
            "completed_q_share": mean(cols["completed_q_share"]),
            "completed_q_top1": mean(cols["completed_q_right"]),
            "search_changed": mean(changed),
            "changed_search_right": mean(cols["search_right"][changed]),
            "changed_prior_right": mean(cols["prior_right"][changed]),
            "skipped": dict(stats)}
