#!/usr/bin/env python
"""How predictable are self-play outcomes: the value MSE that no network can beat.

    python scripts/outcome_noise.py runs/sp_test/a/sgf runs/sp_test/b/sgf \
        --model data/policy_sl.pt --greedy-after 30 --replays 2 --json

Draws one position uniformly from each game (the distribution ``alphago-eval-value``
samples), plays it out ``--replays`` times with the self-play player that played the games
(same network, same temperature and ``--greedy-after``), and estimates, position by
position, 4 p (1 - p) for p the chance that black wins from there: the squared error of a
perfect value net that knows p. Its mean is the floor of the value MSE on such positions;
what a net loses above it is what better training can still win. With two replays the
estimate is 2 x [the two winners differ]; more replays tighten it. Also printed by stage of
the game (positions before ``--greedy-after``, where moves are sampled, and after).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alphago import sgf  # noqa: E402
from alphago.board import BLACK  # noqa: E402
from alphago.ratings import mean_se_by_group  # noqa: E402


def draw_positions(sources: list[str], seed: int, max_games: int | None):
    """One position a game with a known winner, uniform over the game's moves."""
    rng = np.random.default_rng(seed)
    games = sgf.load_games(sources, sgf.GameFilter(sizes=tuple(range(2, 26)), min_moves=1,
                                                   dedup=False))
    out = []
    for rec in games:
        if not rec.winner or rec.handicap or rec.setup_black or rec.setup_white:
            continue
        k = int(rng.integers(0, len(rec.moves)))
        out.append(rec.position_after(k, superko=True))
        if max_games and len(out) >= max_games:
            break
    return out


def floor_per_position(black_wins: np.ndarray) -> np.ndarray:
    """Unbiased estimate of 4 p (1 - p) per row of [positions, replays] black-win flags."""
    r = black_wins.shape[1]
    p = black_wins.mean(1)
    return 4 * p * (1 - p) * r / (r - 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="self-play SGFs: folders or archives")
    ap.add_argument("--model", required=True, help="the network that played the games")
    ap.add_argument("--greedy-after", type=int, default=30)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--replays", type=int, default=2)
    ap.add_argument("--max-games", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=256, help="games played at once")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.replays < 2:
        ap.error("--replays must be 2 or more")
    if args.chunk < 1:
        ap.error("--chunk must be 1 or more")

    from alphago.evaluator import make_evaluator
    from alphago.selfplay import SelfPlayConfig, play_games

    drawn = draw_positions(args.sources, args.seed, args.max_games)
    if not drawn:
        ap.error("no game with a known winner in those sources")
    starts = [pos for pos in drawn for _ in range(args.replays)]
    chunk = min(args.chunk, len(starts))
    ev = make_evaluator(args.model, args.device, batch_size=chunk)
    games = []
    for c in range(0, len(starts), chunk):  # a few hundred games at a time bound the memory
        part = starts[c:c + chunk]
        cfg = SelfPlayConfig(games=len(part), size=part[0].size, komi=part[0].komi,
                             temperature=args.temperature, greedy_after=args.greedy_after,
                             seed=args.seed + c)
        games += play_games(ev, cfg, starts=part)
    wins = np.array([g.winner == BLACK for g in games], float).reshape(-1, args.replays)
    floor = floor_per_position(wins)
    moves = np.array([pos.move_number for pos in drawn])
    ids = np.arange(len(drawn))
    out = {"positions": len(drawn), "replays": args.replays, "model": args.model}
    for name, rows in (("all", moves >= 0), ("sampled", moves < args.greedy_after),
                       ("greedy", moves >= args.greedy_after)):
        if rows.any():
            mean, se = mean_se_by_group(floor[rows], ids[rows])
            out[name] = {"positions": int(rows.sum()), "mse_floor": round(mean, 4),
                         "se": round(se, 4)}
    if args.json:
        print(json.dumps(out))
    else:
        for name in ("all", "sampled", "greedy"):
            if name in out:
                r = out[name]
                print(f"{name:8s} {r['positions']:6d} positions  value MSE floor "
                      f"{r['mse_floor']:.4f} +- {r['se']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
