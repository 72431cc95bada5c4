import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphago import match, match_game, ratings

ROOT = Path(__file__).resolve().parents[1]
GNUGO = shutil.which("gnugo") or ("/usr/games/gnugo" if Path("/usr/games/gnugo").exists() else None)
US = f"{sys.executable} {ROOT / 'gtp_server.py'} --uniform --visits 4 --max-nodes 500"


def test_wilson_and_elo_formulas():
    lo, hi = ratings.wilson(7, 10)
    assert lo == pytest.approx(0.3968, abs=1e-3) and hi == pytest.approx(0.8922, abs=1e-3)
    assert ratings.wilson(0, 0) == (0.0, 1.0)
    assert ratings.elo_from_p(0.5) == pytest.approx(0.0)
    assert ratings.elo_from_p(0.75) == pytest.approx(190.85, abs=0.1)
    assert ratings.elo_from_p(1.0) > 2000


def test_mean_and_its_error_count_each_game_once():
    x = np.array([1.0, 3.0, 5.0, 7.0])
    # four independent games: the usual standard error, sample std / sqrt(n)
    mean, se = ratings.mean_se_by_group(x, np.arange(4))
    assert mean == 4.0 and se == pytest.approx(np.std(x, ddof=1) / 2)
    # two games of two positions: game sums -4 and +4 -> sqrt(2 / 1 * 32) / 4 = 2
    mean, se = ratings.mean_se_by_group(x, np.array([7, 7, 9, 9]))
    assert mean == 4.0 and se == pytest.approx(2.0)
    assert np.isnan(ratings.mean_se_by_group(x, np.zeros(4))[1])  # one game: unknown


def test_sprt():
    assert ratings.sprt_decision(30, 0, 0, 50, 0.05, 0.05) == "H1"
    assert ratings.sprt_decision(0, 30, 0, 50, 0.05, 0.05) == "H0"
    assert ratings.sprt_decision(5, 5, 0, 50, 0.05, 0.05) is None
    p0, p1 = 0.5, 1 / (1 + 10 ** (-50 / 400))
    assert ratings.sprt_llr(3, 1, 0, 50) == pytest.approx(3 * math.log(p1 / p0)
                                                       + math.log((1 - p1) / (1 - p0)))


def test_bradley_terry_orders_engines():
    recs = []
    for i in range(30):
        recs.append({"black": "a", "white": "b", "winner": "a" if i % 4 else "b"})
        recs.append({"black": "b", "white": "c", "winner": "b" if i % 4 else "c"})
        recs.append({"black": "a", "white": "c", "winner": "a"})
    r = ratings.bradley_terry(recs, ["a", "b", "c"])
    assert r["a"][0] > r["b"][0] > r["c"][0]
    assert abs(sum(v[0] for v in r.values())) < 1e-6
    assert all(0 < v[1] < 400 for v in r.values())
    svg = ratings.ratings_svg([(n, e, h, True) for n, (e, h) in r.items()], "t")
    assert svg.startswith("<svg") and svg.count("<circle") == 3 and ">a<" in svg


def test_void_games_are_neither_wins_nor_draws():
    won = {"black": "a", "white": "b", "winner": "a", "result": "B+R", "reason": "resign",
           "moves": 10, "seconds": {}}
    void = {"black": "b", "white": "a", "winner": None, "result": "Void",
            "reason": "setup failed", "moves": 0, "seconds": {}}
    draw = {"black": "b", "white": "a", "winner": None, "result": "0", "reason": "score",
            "moves": 10, "seconds": {}}
    s = ratings.pair_summary([won, void, void], "a", "b")
    assert (s["games"], s["void"], s["draws"], s["winrate"]) == (1, 2, 0, 1.0)
    assert s["reasons"] == {"resign": 1, "setup failed": 2}
    s = ratings.pair_summary([won, draw, void], "a", "b")
    assert (s["games"], s["void"], s["draws"], s["winrate"]) == (2, 1, 1, 0.75)
    all_void = ratings.pair_summary([void, void], "a", "b")
    assert all_void["games"] == 0 and all_void["winrate"] is None
    # void games do not pull ratings together either
    assert ratings.bradley_terry([won] * 3 + [void] * 30, ["a", "b"]) == \
        ratings.bradley_terry([won] * 3, ["a", "b"])


def test_missing_engine_program_stops_the_match_before_any_game(tmp_path, capsys):
    from alphago.cli import match as match_cli
    cfg = match.MatchConfig(engines=(("us", US), ("typo", "no-such-gtp-engine --mode gtp")),
                            games=4, game=match.GameConfig(size=9))
    with pytest.raises(match.MatchSetupError, match="no-such-gtp-engine"):
        match.run_match(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "games.jsonl").exists()
    cfg = match.MatchConfig(engines=(("a", US), ("b", US)), games=2,
                            game=match.GameConfig(size=9, scorer="referee",
                                                  referee="/no/such/referee --mode gtp"))
    with pytest.raises(match.MatchSetupError, match="referee"):
        match.run_match(cfg, tmp_path / "out2", progress=False)
    rc = match_cli.main(["--engine", f"us={US}", "--engine", "q=unbalanced 'quote",
                         "--games", "2", "--size", "9", "--out", str(tmp_path / "out3"),
                         "--quiet"])
    assert rc == 2 and "cannot parse" in capsys.readouterr().err
    assert not (tmp_path / "out3" / "games.jsonl").exists()


def test_schedule_alternates_colours():
    cfg = match.MatchConfig(engines=(("a", "x"), ("b", "y"), ("c", "z")), games=2)
    s = match.schedule(cfg)
    assert len(s) == 6 and s[0][1:] == ("a", "b") and s[1][1:] == ("b", "a")


def test_fixed_colours_keep_the_first_engine_black():
    cfg = match.MatchConfig(engines=(("a", "x"), ("b", "y"), ("c", "z")), games=3,
                            alternate=False, openings=(((1, 0),), ((1, 1),), ((1, 2),)))
    s = match.schedule(cfg)
    assert [g[1:] for g in s] == [("a", "b")] * 3 + [("a", "c")] * 3 + [("b", "c")] * 3
    # every game of a pairing has its own opening when colours do not swap
    assert [match.opening_for(cfg, g) for g in range(3)] == list(cfg.openings)
    assert match.openings_needed(5, alternate=False) == 5 and match.openings_needed(5) == 3


def test_handicap_match_with_fixed_colours(tmp_path):
    from alphago import sgf as sgf_mod
    from alphago.cli import match as match_cli

    rc = match_cli.main(["--engine", f"giver={US}", "--engine", f"taker={US}", "--games", "2",
                         "--size", "9", "--handicap", "2", "--komi", "0.5", "--colours", "fixed",
                         "--max-moves", "10", "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 0
    recs = [json.loads(x) for x in (tmp_path / "out/games.jsonl").read_text().splitlines()]
    assert len(recs) == 2 and all(r["black"] == "giver" for r in recs)
    game = sgf_mod.parse_sgf("g", (tmp_path / "out" / recs[0]["sgf"]).read_bytes())
    assert len(game.setup_black) == 2 and game.komi == 0.5
    assert game.moves[0][0] == 2  # white moves first after the stones


@pytest.mark.parametrize("argv, message", [
    (["--handicap", "1"], "2 to 9 stones"),
    (["--handicap", "10"], "2 to 9 stones"),
    (["--handicap", "2", "--size", "6"], "does not exist"),
    (["--handicap", "3", "--openings", "."], "without --handicap"),
    (["--colours", "sometimes"], "invalid choice"),
    (["--adjudicate", "200,30,2"], "needs --scorer referee"),
    (["--adjudicate", "200,30,0", "--scorer", "referee", "--referee", "gnugo"], "whole TIMES"),
    (["--adjudicate", "200,-5,2", "--scorer", "referee", "--referee", "gnugo"], "MARGIN > 0"),
])
def test_match_options_are_checked(tmp_path, capsys, argv, message):
    from alphago.cli import match as match_cli

    with pytest.raises(SystemExit) as exc:
        match_cli.main(["--engine", f"a={US}", "--engine", f"b={US}", "--games", "2",
                        "--size", "9", "--out", str(tmp_path / "out")] + argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


BROKEN = {
    # answers '=' with nothing to every command: its genmove is not a move
    "nonsense": "import sys\nfor line in sys.stdin: print('= \\n', flush=True)",
    # dies at its first genmove
    "crash": "import sys\nfor line in sys.stdin:\n"
             "    if 'genmove' in line: sys.exit(3)\n    print('= \\n', flush=True)",
    # hangs at genmove
    "hang": "import sys, time\nfor line in sys.stdin:\n"
            "    if 'genmove' in line: time.sleep(600)\n    print('= \\n', flush=True)",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_engines_lose(tmp_path, kind):
    script = tmp_path / "engine.py"
    script.write_text(BROKEN[kind])
    cfg = match.MatchConfig(engines=(("us", US), (kind, f"{sys.executable} {script}")), games=2,
                            game=match.GameConfig(size=9, move_timeout=5 if kind == "hang" else 60))
    summary = match.run_match(cfg, tmp_path / "out", progress=False)
    tmp_path = tmp_path / "out"
    recs = [json.loads(line) for line in (tmp_path / "games.jsonl").read_text().splitlines()]
    assert len(recs) == 2 and all(r["winner"] == "us" for r in recs)
    expected = {"nonsense": "illegal move", "crash": "crash", "hang": "timeout"}[kind]
    assert any(r["reason"] == expected for r in recs)
    assert summary["pairs"][0]["wins"]["us"] == 2
    # resuming plays nothing new
    match.run_match(cfg, tmp_path, progress=False)
    assert len((tmp_path / "games.jsonl").read_text().splitlines()) == 2
    assert len(list((tmp_path / "sgf").glob("*.sgf"))) == 2


@pytest.mark.skipif(GNUGO is None, reason="GNU Go not installed")
def test_match_against_gnugo_writes_everything(tmp_path):
    cfg = match.MatchConfig(
        engines=(("us", US), ("gnugo", f"{GNUGO} --mode gtp --level 1")), games=2,
        game=match.GameConfig(size=9, scorer="referee",
                              referee=f"{GNUGO} --mode gtp --level 1"), parallel=2)
    summary = match.run_match(cfg, tmp_path, progress=False)
    pair = summary["pairs"][0]
    assert pair["games"] == 2 and sum(pair["wins"].values()) + pair["draws"] == 2
    for key in ("winrate", "ci95", "elo", "elo_ci95"):
        assert key in pair
    assert set(summary["ratings"]) == {"us", "gnugo"}
    assert json.loads((tmp_path / "summary.json").read_text())["games"] == 2
    for sgf_file in (tmp_path / "sgf").glob("*.sgf"):
        assert "RE[" in sgf_file.read_text()


# a referee whose final_score cycles through the scores given on its command line
SCRIPTED_REFEREE = """import sys
scores, calls = sys.argv[1:], 0
for line in sys.stdin:
    if line.startswith("final_score"):
        print("= " + scores[calls % len(scores)] + "\\n", flush=True)
        calls += 1
    else:
        print("= \\n", flush=True)
"""


@pytest.mark.parametrize("scores, adjudicated", [
    (["B+40.5"], True),  # a large lead at both checks: the game ends at the second
    (["B+40.5", "W+40.5"], False),  # the lead changes sides: never two checks in a row
    (["B+3.5"], False),  # under the margin
])
def test_referee_adjudicates_a_decided_game(tmp_path, scores, adjudicated):
    script = tmp_path / "referee.py"
    script.write_text(SCRIPTED_REFEREE)
    referee = f"{sys.executable} {script} " + " ".join(scores)
    cfg = match.MatchConfig(engines=(("a", US), ("b", US)), games=1,
                            game=match.GameConfig(size=9, max_moves=40, scorer="referee",
                                                  referee=referee, adjudicate=(12, 30.0, 2)))
    match.run_match(cfg, tmp_path / "out", progress=False)
    rec = json.loads((tmp_path / "out" / "games.jsonl").read_text())
    if adjudicated:
        assert rec["reason"] == "adjudicated" and rec["moves"] == 22
        assert rec["result"] == "B+40.5" and rec["winner"] == "a"  # a plays black in game 0
        assert "B+40.5 at move 12, B+40.5 at move 22" in rec["detail"]
    else:
        assert rec["reason"] != "adjudicated" and rec["moves"] > 22
    # the calibration tool replays the record under the same rule on the same referee
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "adjudication_check.py"),
                            str(tmp_path / "out"), "--referee", referee, "--adjudicate",
                            "12,30,2"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    if adjudicated:  # the game is on record as adjudicated: nothing to compare it with
        assert report["games"] == 0
    else:
        assert report["games"] == 1 and report["adjudicated"] == 0
    if scores == ["B+3.5"]:  # a smaller margin would have ended that game at move 22
        check = subprocess.run([sys.executable, str(ROOT / "scripts" / "adjudication_check.py"),
                                str(tmp_path / "out"), "--referee", referee, "--adjudicate",
                                "12,3,2"], capture_output=True, text=True, timeout=120)
        report = json.loads(check.stdout)
        assert report["adjudicated"] == 1 and report["wrong_winner"] == 0
        assert report["games_detail"][0]["at_move"] == 22
        assert report["moves_saved"] == rec["moves"] - 22


def test_interrupted_match_resumes(tmp_path):
    cfg = match.MatchConfig(engines=(("a", US), ("b", US)), games=3,
                            game=match.GameConfig(size=9, max_moves=20))
    match.run_match(dataclass_replace(cfg, games=1), tmp_path, progress=False)
    assert len((tmp_path / "games.jsonl").read_text().splitlines()) == 1
    with (tmp_path / "games.jsonl").open("a") as f:
        f.write('{"truncated line from a kill\n')
    summary = match.run_match(cfg, tmp_path, progress=False)
    games = [json.loads(x) for x in (tmp_path / "games.jsonl").read_text().splitlines()
             if x.startswith('{"game"')]
    assert sorted(g["game"] for g in games) == [0, 1, 2]
    assert summary["games"] == 3
    assert {g["black"] for g in games} == {"a", "b"}  # colours alternate


def test_full_game_against_itself(tmp_path):
    cfg = match.MatchConfig(engines=(("x", US), ("y", US)), games=1,
                            game=match.GameConfig(size=9))
    summary = match.run_match(cfg, tmp_path, progress=False)
    rec = json.loads((tmp_path / "games.jsonl").read_text())
    assert rec["reason"] in ("score", "resign", "move cap") and rec["moves"] > 20
    assert summary["pairs"][0]["games"] == 1
    from alphago import sgf as sgf_mod

    assert rec["sgf"] == "sgf/game_00000.sgf"  # relative: the match folder travels
    game = sgf_mod.parse_sgf("g", (tmp_path / rec["sgf"]).read_bytes())
    assert len(game.moves) == rec["moves"] and game.result == rec["result"]


def dataclass_replace(obj, **kw):
    import dataclasses

    return dataclasses.replace(obj, **kw)


def test_clock_arithmetic():
    c = match_game.MatchClock(10, 0, 0, grace=0.5)  # absolute
    assert c.spend(6) and c.time_left() == (4, 0)
    assert c.spend(4.4)  # inside the grace, but nothing is left now
    assert c.time_left() == (0, 0) and not c.spend(0.6)
    assert not match_game.MatchClock(1, 0, 0, grace=0.5).spend(1.6)
    c = match_game.MatchClock(5, 3, 1, grace=0.5)  # Japanese-style: 3 s a move after main time
    assert c.spend(4) and c.spend(3.5)  # the last second of main time, then 2.5 s of byo
    assert c.time_left() == (3, 1)  # a fresh period
    assert not c.spend(3.6)
    c = match_game.MatchClock(0, 10, 5, grace=0.0)  # Canadian: 5 moves in 10 s
    for _ in range(5):
        assert c.spend(1.9)
    assert c.time_left() == (10, 5)


def test_japanese_byoyomi_clock():
    c = match_game.MatchClock(30, 5, 1, grace=0.5, periods=3)  # 30 s + 3 x 5 s
    assert c.spend(29) and c.time_left() == (1, 0)
    assert c.spend(4)  # the last second of main time, then 3 s of a period: kept
    assert c.time_left() == (5, 3)  # as KGS says it: a period's seconds, periods left
    assert c.spend(7)  # overran one period: it is used up
    assert c.time_left() == (5, 2)
    assert c.spend(5.4)  # inside the grace: kept
    assert c.spend(9.9) and c.time_left() == (5, 1)  # two periods' worth: one left
    assert not c.spend(5.6)  # over the last one: the flag falls
    assert not match_game.MatchClock(0, 5, 1, periods=2).spend(10.6)


def test_clock_options_reach_the_match_clock():
    from alphago.cli import match as cli

    def clock(*opts):
        return cli._clock(cli.build_parser().parse_args(["--engine", "a=x", "--engine", "b=y",
                                                         "--out", "o", *opts]))
    assert clock() == (None, 0)
    assert clock("--time-settings", "300,30,5") == ((300, 30, 5), 0)  # Canadian, as given
    assert clock("--byoyomi", "60,10,3") == ((60, 10, 1), 3)  # one move a period, 3 periods


def test_flag_falls_for_a_slow_engine_and_not_for_ours(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(  # 1.2 s a move, on the first free point (it tracks 'play')
        "import sys, time\ntaken = set()\nfree = [c + str(r) for r in range(1, 10) "
        "for c in 'ABCDEFGHJ']\nfor line in sys.stdin:\n    w = line.split()\n"
        "    if w and w[0] == 'play' and len(w) == 3:\n        taken.add(w[2].upper())\n"
        "    if w and w[0] == 'clear_board':\n        taken.clear()\n"
        "    if w and w[0] == 'genmove':\n        time.sleep(1.2)\n"
        "        move = next(p for p in free if p not in taken)\n        taken.add(move)\n"
        "        print('= ' + move + '\\n', flush=True)\n"
        "    else:\n        print('= \\n', flush=True)\n")
    cfg = match.MatchConfig(engines=(("us", US), ("slow", f"{sys.executable} {script}")),
                            games=2, game=match.GameConfig(size=9, time_settings=(2, 0, 0)))
    summary = match.run_match(cfg, tmp_path / "out", progress=False)
    recs = [json.loads(x) for x in (tmp_path / "out" / "games.jsonl").read_text().splitlines()]
    assert all(r["winner"] == "us" and r["reason"] == "time" for r in recs)
    assert all(r["result"].endswith("+T") for r in recs)
    pair = summary["pairs"][0]
    assert pair["time_losses"] == {"us": 0, "slow": 2}
    assert pair["max_move_seconds"]["slow"] >= 1.2 and pair["min_time_left"]["us"] > 0


def test_openings_start_each_pair_of_games(tmp_path):
    src = tmp_path / "openings"
    src.mkdir()
    for i, moves in enumerate((";B[dd];W[ff];B[gc];W[ee]", ";B[cc];W[gg];B[cg];W[ee]")):
        (src / f"o{i}.sgf").write_text(f"(;GM[1]FF[4]SZ[9]KM[7.5]{moves})")
    (src / "short.sgf").write_text("(;GM[1]FF[4]SZ[9];B[aa])")  # too short: not an opening
    openings = match.load_openings([src], 3, size=9, seed=1)
    assert len(openings) == 2 and all(len(o) == 3 for o in openings)
    with pytest.raises(ValueError):
        match.load_openings([src], 9, size=9)
    cfg = match.MatchConfig(engines=(("a", US), ("b", US)), games=4,
                            game=match.GameConfig(size=9, max_moves=12), openings=openings)
    match.run_match(cfg, tmp_path / "out", progress=False)
    from alphago import sgf as sgf_mod

    recs = sorted((json.loads(x) for x in (tmp_path / "out/games.jsonl").read_text().splitlines()),
                  key=lambda r: r["game"])
    starts = [tuple(sgf_mod.parse_sgf("g", (tmp_path / "out" / r["sgf"]).read_bytes()).moves[:3]) for r in recs]
    assert starts[0] == starts[1] == match.opening_for(cfg, 0)
    assert starts[2] == starts[3] == match.opening_for(cfg, 2) != starts[0]
    assert recs[0]["black"] == recs[1]["white"] == "a"


def test_sigterm_ends_a_match_at_once_and_records_no_cut_game(tmp_path):
    """``kill PID`` on the match tool: the engines of the games in play end with it at
    once, no cut-short game is written as a result, and a rerun starts those games anew."""
    import os
    import signal
    import time

    from conftest import children_of, process_alive

    script = tmp_path / "hang.py"
    script.write_text(BROKEN["hang"])
    engine = f"{sys.executable} {script}"
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "alphago.cli.match", "--engine",
                             f"a={engine}", "--engine", f"b={engine}", "--games", "4",
                             "--parallel", "2", "--size", "9", "--out", str(out), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.time() + 60
    while time.time() < deadline and len(children_of(proc.pid)) < 4:
        time.sleep(0.1)
    engines = children_of(proc.pid)
    assert len(engines) == 4, "the match did not start its engines"
    time.sleep(1.0)  # both games are waiting on a genmove
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=30)[1]
    assert proc.returncode == 130 and "resumes" in err
    assert time.time() - t0 < 15
    assert not [p for p in engines if process_alive(p)]
    jsonl = out / "games.jsonl"
    assert not jsonl.exists() or not jsonl.read_text().strip()
    assert not list(out.glob("sgf/*.sgf")), "a game the stop cut short was written as a forfeit"
