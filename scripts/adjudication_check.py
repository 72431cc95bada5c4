#!/usr/bin/env python
"""How an --adjudicate rule would have ended the games of finished matches.

    python scripts/adjudication_check.py matches/a_vs_b matches/c_vs_d \
        --referee "/usr/games/gnugo --mode gtp --chinese-rules" --adjudicate 200,30,2

Replays every game of each match folder (games.jsonl and its SGFs) on the referee, applies
the rule as ``alphago-match --adjudicate`` does, and prints a JSON summary: the games it
would have ended, whether each adjudication names the recorded winner, and the moves
saved. A rule worth using ends many games and never names the wrong winner.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alphago import sgf  # noqa: E402
from alphago.board import IllegalMove  # noqa: E402
from alphago.cli.match import adjudication_rule  # noqa: E402
from alphago.gtp_client import EngineFailure, GtpClient  # noqa: E402
from alphago.match import load_records  # noqa: E402
from alphago.match_game import replay_adjudication  # noqa: E402


def check_match(folder: Path, rule, referee: GtpClient) -> list[dict]:
    rows = []
    for rec in load_records(folder / "games.jsonl"):
        winner = sgf.parse_winner(rec["result"])
        if not winner or rec["reason"] not in ("score", "resign", "move cap"):
            continue  # void, drawn or ended by a fault: nothing to compare with
        try:
            game = sgf.parse_sgf(rec["sgf"], (folder / rec["sgf"]).read_bytes())
            ended = replay_adjudication(game, rule, referee)
        except (OSError, KeyError, sgf.BadGame, IllegalMove) as exc:
            print(f"skipped game {rec.get('game')} of {folder}: {exc}", file=sys.stderr)
            continue
        rows.append({"match": folder.name, "game": rec["game"], "result": rec["result"],
                     "moves": rec["moves"],
                     "adjudicated": ended[0].detail if ended else None,
                     "at_move": ended[1] if ended else None,
                     "agrees": ended[0].winner == winner if ended else None})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="match folders (alphago-match --out)")
    ap.add_argument("--referee", required=True, help="GTP command of the scoring engine")
    ap.add_argument("--adjudicate", required=True, type=adjudication_rule,
                    metavar="MOVE,MARGIN,TIMES")
    args = ap.parse_args(argv)
    rule = args.adjudicate
    missing = [f for f in args.folders if not Path(f, "games.jsonl").is_file()]
    if missing:
        ap.error(f"not a match folder (no games.jsonl): {', '.join(missing)}")
    referee = GtpClient("referee", args.referee)
    try:
        referee.send("name", 60)
    except EngineFailure as exc:
        print(f"adjudication_check: the referee does not answer: {exc}", file=sys.stderr)
        return 2
    try:
        rows = [r for f in args.folders for r in check_match(Path(f), rule, referee)]
    finally:
        referee.close()
    ended = [r for r in rows if r["adjudicated"]]
    print(json.dumps({
        "rule": {"from_move": rule[0], "margin": rule[1], "checks_in_a_row": rule[2]},
        "games": len(rows), "adjudicated": len(ended),
        "wrong_winner": sum(1 for r in ended if not r["agrees"]),
        "moves_played": sum(r["moves"] for r in rows),
        "moves_saved": sum(r["moves"] - r["at_move"] for r in ended),
        "games_detail": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
