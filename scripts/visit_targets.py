#!/usr/bin/env python
"""How wide are expert iteration's policy targets: raw root visit shares against pruned ones.

    python scripts/visit_targets.py --model data/dual.pt --visits 160 --games 3 --moves 120

Plays ``--games`` games of search self-play's player (root noise, temperature 1 for the
first size^2/12 moves, the self-play pass rule) for ``--moves`` moves each and, at every
move, reads the target two ways from the same search: the raw visit shares and the shares
after KataGo's target pruning (``selfplay.pruned_visits``). Prints, averaged over the
positions, the moves in a target, its entropy (nats), its largest share, and the entropy of
the network's own prior over its 16 most likely moves (as the shards keep 16). A target
much wider than the prior teaches the network to spread its policy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alphago import dataset  # noqa: E402
from alphago.board import Position  # noqa: E402
from alphago.selfplay import (SearchSelfPlayConfig, search_player,  # noqa: E402
                              visit_distribution)


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def target_stats(player, scfg: SearchSelfPlayConfig, size: int, komi: float, games: int,
                 moves: int) -> dict:
    rows = []
    sampled = scfg.sampled_moves(size)
    for _ in range(games):
        player.new_game()
        pos = Position(size, komi, superko=True)
        for i in range(moves):
            if pos.passes >= 2:
                break
            res = player.genmove(pos, temperature=1.0 if i < sampled else 0.0,
                                 noise=scfg.noise, allow_resign=False)
            raw = visit_distribution(res, pos.pass_move)
            pruned = visit_distribution(res, pos.pass_move, player.cfg.c_puct)
            prior = np.sort(player.policy(pos))[::-1][:dataset.PI_TOP]
            rows.append((len(raw), len(pruned), entropy(np.array(list(raw.values()))),
                         entropy(np.array(list(pruned.values()))),
                         entropy(prior / prior.sum()), max(raw.values()),
                         max(pruned.values())))
            pos.play(res.move)
    r = np.array(rows)
    keys = ("moves_raw", "moves_pruned", "entropy_raw", "entropy_pruned",
            "entropy_prior_top16", "top_share_raw", "top_share_pruned")
    return {"positions": len(r), **{k: round(float(v), 3) for k, v in zip(keys, r.mean(0))}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--visits", type=int, default=SearchSelfPlayConfig.visits)
    ap.add_argument("--games", type=int, default=3)
    ap.add_argument("--moves", type=int, default=120, help="moves a game at most")
    ap.add_argument("--size", type=int, default=19)
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.visits < 2 or args.games < 1 or args.moves < 1:
        ap.error("--visits must be >= 2, --games and --moves >= 1")
    from alphago import checkpoint
    from alphago.evaluator import make_evaluator

    scfg = SearchSelfPlayConfig(visits=args.visits)
    try:
        ev = make_evaluator(args.model, args.device, 1, scfg.batch_size)
    except (checkpoint.CheckpointError, ValueError, FileNotFoundError) as exc:
        ap.error(str(exc))
    player = search_player(ev, scfg, args.seed)
    stats = target_stats(player, scfg, args.size, args.komi, args.games, args.moves)
    stats.update({"model": args.model, "visits": args.visits})
    if args.json:
        print(json.dumps(stats))
    else:
        for k, v in stats.items():
            print(f"{k:22s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
