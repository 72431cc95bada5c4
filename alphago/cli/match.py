"""Play GTP engines against each other; win rates, Wilson intervals, Elo, SPRT, SGFs.

    alphago-match --engine us="alphago-gtp --policy-only" \\
        --engine gnugo="/usr/games/gnugo --mode gtp --level 10" --games 20 --out matches/x
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from alphago import match
from alphago.board import max_fixed_handicap
from alphago.coords import MAX_SIZE, MIN_SIZE
from alphago.procs import TerminateAsInterrupt


def _engine(text: str) -> tuple[str, str]:
    name, sep, command = text.partition("=")
    if not sep or not name.strip() or not command.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=COMMAND, got {text!r}")
    return name.strip(), command.strip()


def _floats(n: int, kind=float):
    def parse(text: str):
        parts = text.split(",")
        if len(parts) != n:
            raise argparse.ArgumentTypeError(f"expected {n} comma-separated numbers")
        try:
            return tuple(kind(p) if i < n - 1 or kind is float else int(p)
                         for i, p in enumerate(parts))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def adjudication_rule(text: str) -> tuple[int, float, int]:
    """--adjudicate MOVE,MARGIN,TIMES as ``GameConfig.adjudicate``: a whole MOVE >= 1, a
    MARGIN > 0 points and a whole TIMES >= 1."""
    start, margin, times = _floats(3)(text)
    if start < 1 or margin <= 0 or times < 1 or start != int(start) or times != int(times):
        raise argparse.ArgumentTypeError(
            "needs a whole MOVE >= 1, MARGIN > 0 and a whole TIMES >= 1")
    return int(start), margin, int(times)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", action="append", type=_engine, required=True,
                    help="NAME=COMMAND (give two or more)")
    ap.add_argument("--games", type=int, default=10, help="games per pair of engines")
    ap.add_argument("--size", type=int, default=19)
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--handicap", type=int, default=0,
                    help="fixed handicap stones for black (0, or 2 and up; with --komi, "
                         "e.g. 0.5, and usually --colours fixed)")
    ap.add_argument("--colours", choices=["alternate", "fixed"], default="alternate",
                    help="alternate (default): colours swap every game; fixed: the engine "
                         "named first plays black in every game of its pairing")
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--time-settings", type=_floats(3), help="MAIN,BYO_TIME,BYO_STONES")
    ap.add_argument("--byoyomi", type=_floats(3),
                    help="MAIN,PERIOD,PERIODS: Japanese byo-yomi (sent as kgs-time_settings "
                         "to engines that list it, else as time_settings MAIN PERIOD 1)")
    ap.add_argument("--move-timeout", type=float, help="seconds before a genmove is a loss")
    ap.add_argument("--time-grace", type=float, default=0.5,
                    help="seconds of lag forgiven per move before the flag falls (0.5)")
    ap.add_argument("--max-moves", type=int, help="move cap (default 3*size^2)")
    ap.add_argument("--scorer", choices=["internal", "players", "referee"], default="internal")
    ap.add_argument("--referee", help="GTP command of the scoring engine (--scorer referee)")
    ap.add_argument("--adjudicate", type=adjudication_rule, metavar="MOVE,MARGIN,TIMES",
                    help="with --scorer referee: from move MOVE on, the referee scores the "
                         "position every 10 moves, and a side leading by MARGIN points or "
                         "more in TIMES checks in a row wins the game (e.g. 200,30,2); saves "
                         "the long endgames of engines that seldom resign")
    ap.add_argument("--sprt", type=_floats(4), help="ELO0,ELO1,ALPHA,BETA: stop when decided")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--openings", nargs="+",
                    help="SGF files, directories or archives: each pair of games (colours "
                         "swapped) starts from the first --opening-moves moves of one game")
    ap.add_argument("--opening-moves", type=int, default=8,
                    help="moves taken from each opening game (8)")
    ap.add_argument("--out", required=True, help="directory: games.jsonl, sgf/, summary.json")
    ap.add_argument("--quiet", action="store_true")
    return ap


def _check(ap: argparse.ArgumentParser, args) -> None:
    """Rejects missing and contradictory options through ``ap.error`` (exit status 2)."""
    names = [n for n, _ in args.engine]
    if len(args.engine) < 2 or len(set(names)) != len(names):
        ap.error("give at least two engines with distinct names")
    if args.scorer == "referee" and not args.referee:
        ap.error("--scorer referee needs --referee COMMAND")
    if args.adjudicate and args.scorer != "referee":
        ap.error("--adjudicate needs --scorer referee (the referee scores the position)")
    if args.games < 1 or args.parallel < 1 or not MIN_SIZE <= args.size <= MAX_SIZE:
        ap.error("--games and --parallel must be >= 1, --size within 5..19")
    if args.handicap:
        most = max_fixed_handicap(args.size)
        if not 2 <= args.handicap <= most:
            ap.error(f"--handicap {args.handicap}: a fixed handicap on {args.size}x{args.size} "
                     + (f"is 2 to {most} stones (or 0)" if most else "does not exist"))
        if args.openings:
            ap.error("--openings are even games: give them without --handicap")
    if args.byoyomi:
        if args.time_settings:
            ap.error("give --time-settings or --byoyomi, not both")
        main_time, period, periods = args.byoyomi
        if period <= 0 or periods < 1 or periods != int(periods) or main_time < 0:
            ap.error("--byoyomi needs MAIN >= 0, PERIOD > 0 and a whole number of PERIODS >= 1")


def _clock(args) -> tuple[tuple | None, int]:
    """(time settings, byo-yomi periods): Japanese byo-yomi runs as MAIN PERIOD 1 with a
    count of periods, Canadian or absolute time as given, with 0 periods."""
    if not args.byoyomi:
        return args.time_settings, 0
    main_time, period, periods = args.byoyomi
    return (main_time, period, 1), int(periods)


def _openings(ap: argparse.ArgumentParser, args) -> tuple:
    """The openings (--openings), as many as the games need; () without the option."""
    if not args.openings:
        return ()
    missing = [s for s in args.openings if not Path(s).exists()]
    if missing:
        ap.error(f"no such openings source: {', '.join(missing)}")
    try:
        need = match.openings_needed(args.games, args.colours == "alternate")
        return match.load_openings(args.openings, args.opening_moves, args.size,
                                   limit=need, seed=args.seed)
    except ValueError as exc:
        ap.error(str(exc))


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _check(ap, args)
    time_settings, periods = _clock(args)
    game = match.GameConfig(size=args.size, komi=args.komi, handicap=args.handicap,
                            max_moves=args.max_moves, move_timeout=args.move_timeout,
                            time_settings=time_settings, time_grace=args.time_grace,
                            byoyomi_periods=periods, scorer=args.scorer,
                            referee=args.referee, adjudicate=args.adjudicate)
    cfg = match.MatchConfig(engines=tuple(args.engine), games=args.games, game=game,
                            parallel=args.parallel, sprt=args.sprt, seed=args.seed,
                            openings=_openings(ap, args), alternate=args.colours == "alternate")
    try:
        with TerminateAsInterrupt():
            summary = match.run_match(cfg, args.out, progress=not args.quiet)
    except match.MatchSetupError as exc:
        print(f"match: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("match: stopped; the finished games are in games.jsonl, and the same command "
              "resumes", file=sys.stderr)
        return 130
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
