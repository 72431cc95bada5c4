"""Self-play games of a policy network (optionally against an earlier one) -> SGFs + shards.

    alphago-selfplay --model data/policy_sl.pt --games 256 --out runs/sp/gen0
    alphago-train-value --shards runs/sp/gen0 --run-dir runs/value  # value net
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from alphago.coords import MAX_SIZE, MIN_SIZE


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="policy checkpoint playing")
    ap.add_argument("--opponent", help="checkpoint of an earlier policy to play against")
    ap.add_argument("--games", type=int, default=64, help="games, all played in one batch")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=19)
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--max-moves", type=int)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--greedy-after", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first-id", type=int, default=0, help="id of the first game")
    ap.add_argument("--device", default="auto",
                    help="auto, cpu, onnx, onnx-int8, cuda (as gtp_server.py --device)")
    ap.add_argument("--learner-only", action="store_true",
                    help="shards keep only --model's own moves (for REINFORCE)")
    ap.add_argument("--visits", type=int, default=0,
                    help="> 0: play with search at this many visits (noise, temperature, "
                         "resignation with a 10%% no-resign share); 0: policy only")
    ap.add_argument("--cheap-visits", type=int,
                    help="playout-cap randomisation (KataGo): moves not drawn for a full "
                         "search get this many visits, no noise and no policy target")
    ap.add_argument("--full-fraction", type=float, default=0.25,
                    help="share of moves searched with --visits when --cheap-visits is set")
    ap.add_argument("--prune-targets", action="store_true",
                    help="KataGo's policy-target pruning: visits that noise and exploration "
                         "alone gave a move are left out of its visit-distribution target")
    ap.add_argument("--root-noise", type=float, default=0.25,
                    help="weight of the Dirichlet noise at the root of the full searches "
                         "(0: their visit targets come from noise-free searches)")
    return ap


def _names(args) -> tuple[str, str]:
    """The players' names in the records: the checkpoints' file names, kept distinct."""
    me_name = Path(args.model).stem
    opp_name = Path(args.opponent).stem if args.opponent else me_name
    if args.opponent and opp_name == me_name:
        opp_name += "-opponent"
    return me_name, opp_name


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.games < 1 or not MIN_SIZE <= args.size <= MAX_SIZE:
        ap.error("--games must be >= 1 and --size within 5..19")
    if not 0.0 <= args.root_noise <= 1.0:
        ap.error("--root-noise must be within 0..1")
    from alphago import checkpoint, selfplay
    from alphago.evaluator import make_evaluator

    cap_error = selfplay.playout_cap_error(args.visits, args.cheap_visits, args.full_fraction)
    if cap_error:
        ap.error(cap_error)
    try:
        me = make_evaluator(args.model, args.device, batch_size=args.games)
        opp = (make_evaluator(args.opponent, args.device, batch_size=args.games)
               if args.opponent else None)
    except (checkpoint.CheckpointError, ValueError) as exc:
        ap.error(str(exc))
    cfg = selfplay.SelfPlayConfig(games=args.games, size=args.size, komi=args.komi,
                                  max_moves=args.max_moves, temperature=args.temperature,
                                  greedy_after=args.greedy_after, seed=args.seed)
    me_name, opp_name = _names(args)
    if args.visits > 0:
        search = selfplay.SearchSelfPlayConfig(
            visits=args.visits, cheap_visits=args.cheap_visits, full_fraction=args.full_fraction,
            prune_targets=args.prune_targets, noise=args.root_noise)
        games = selfplay.play_search_games(me, cfg, search, name=me_name)
    else:
        games = selfplay.play_games(me, cfg, opp, (me_name, opp_name))
    learner = me_name if args.learner_only and args.opponent else None
    print(json.dumps(selfplay.write_games(games, cfg, args.out, first_id=args.first_id,
                                          learner=learner)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
