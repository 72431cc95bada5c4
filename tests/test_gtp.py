import subprocess
import sys
import time
from pathlib import Path

import pytest

from alphago.config import SearchConfig
from alphago.evaluator import UniformEvaluator
from alphago.gtp import GtpEngine, fixed_handicap_points
from alphago.player import MCTSPlayer, PolicyPlayer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def engine():
    player = MCTSPlayer(UniformEvaluator(), SearchConfig(visits=16, max_nodes=2000, batch_size=4))
    return GtpEngine(player, size=9)


def ask(engine, line):
    return engine.handle(line)


def test_framing_ids_comments_and_errors(engine):
    assert ask(engine, "protocol_version") == "= 2\n\n"
    assert ask(engine, "12 name") == "=12 alphago-py\n\n"
    assert ask(engine, "# just a comment") is None
    assert ask(engine, "   \r") is None
    assert ask(engine, "version # trailing comment") == "= 0.1.0\n\n"
    assert ask(engine, "7 frobnicate") == "?7 unknown command\n\n"
    assert ask(engine, "kgs_genmove_cleanup b").startswith("? unknown command")
    assert ask(engine, "3\tknown_command\tplay") == "=3 true\n\n"
    assert ask(engine, "known_command frob") == "= false\n\n"
    listed = ask(engine, "list_commands")
    for name in ("lz-analyze", "kgs-genmove_cleanup", "gogui-analyze_commands", "loadsgf",
                 "final_status_list", "kgs-time_settings", "reg_genmove", "undo"):
        assert f"\n{name}\n" in listed or listed.startswith(f"= {name}\n")


def test_play_undo_and_errors(engine):
    assert ask(engine, "play b e5") == "=\n\n"
    assert ask(engine, "play w e5") == "? illegal move\n\n"
    assert ask(engine, "play x e5") == "? invalid color\n\n"
    assert ask(engine, "play b z99") == "? invalid coordinate\n\n"
    assert ask(engine, "play b") == "? syntax error\n\n"
    assert ask(engine, "play b i5") == "? invalid coordinate\n\n"
    assert ask(engine, "list_stones black") == "= E5\n\n"
    assert ask(engine, "undo") == "=\n\n"
    assert ask(engine, "undo") == "? cannot undo\n\n"
    assert ask(engine, "boardsize 1") == "? unacceptable size\n\n"
    assert ask(engine, "boardsize 99999999999999999999") == "? unacceptable size\n\n"
    assert ask(engine, "komi abc") == "? komi not a float\n\n"
    assert ask(engine, "komi nan") == "? komi not a float\n\n"


def test_captures_and_same_colour_twice(engine):
    for mv in ("b a2", "w a1", "b b1"):
        assert ask(engine, f"play {mv}") == "=\n\n"
    assert ask(engine, "captures black") == "= 1\n\n"
    assert ask(engine, "captures white") == "= 0\n\n"
    assert ask(engine, "play b c1") == "=\n\n"  # two black moves in a row are allowed


def test_fixed_handicap_layouts():
    from alphago import coords

    def names(n, k):
        return [coords.to_gtp(p, n) for p in fixed_handicap_points(n, k)]

    assert sorted(names(19, 9)) == sorted("D4 Q16 D16 Q4 D10 Q10 K4 K16 K10".split())
    assert sorted(names(19, 3)) == sorted("D4 Q16 D16".split())
    assert sorted(names(13, 5)) == sorted("D4 K10 D10 K4 G7".split())
    assert sorted(names(9, 6)) == sorted("C3 G7 C7 G3 C5 G5".split())


def test_handicap_commands(engine):
    assert ask(engine, "fixed_handicap 10") == "? invalid number of stones\n\n"
    assert ask(engine, "fixed_handicap 4") == "= C3 G7 C7 G3\n\n"
    assert ask(engine, "fixed_handicap 2") == "? board not empty\n\n"
    assert ask(engine, "undo") == "? cannot undo\n\n"
    assert ask(engine, "clear_board") == "=\n\n"
    assert ask(engine, "set_free_handicap e5 e5") == "? bad vertex list\n\n"
    assert ask(engine, "set_free_handicap e5 pass") == "? bad vertex list\n\n"
    assert ask(engine, "set_free_handicap e5 c3") == "=\n\n"
    assert ask(engine, "clear_board") == "=\n\n"
    out = ask(engine, "place_free_handicap 5")
    assert out.startswith("= ") and len(out.split()) == 6


def test_genmove_and_reg_genmove(engine):
    out = ask(engine, "genmove b")
    assert out.startswith("= ") and out.strip() != "= resign"
    stones = ask(engine, "list_stones b")
    out = ask(engine, "reg_genmove w")
    assert out.startswith("= ")
    assert ask(engine, "list_stones w") == "=\n\n"  # reg_genmove does not play
    assert ask(engine, "list_stones b") == stones


def test_time_commands(engine):
    assert ask(engine, "time_settings 300 30 5") == "=\n\n"
    assert ask(engine, "time_settings 300 30") == "? syntax error\n\n"
    assert ask(engine, "time_left b 100 0") == "=\n\n"
    assert ask(engine, "time_left b -5 0") == "? syntax error\n\n"
    assert ask(engine, "kgs-time_settings none") == "=\n\n"
    assert ask(engine, "kgs-time_settings absolute 60") == "=\n\n"
    assert ask(engine, "kgs-time_settings byoyomi 60 10 3") == "=\n\n"
    assert ask(engine, "kgs-time_settings canadian 60 30 10") == "=\n\n"
    assert ask(engine, "kgs-time_settings hourglass 60").startswith("?")
    assert ask(engine, "time_settings 1 0 0") == "=\n\n"
    t0 = time.perf_counter()
    assert ask(engine, "genmove b").startswith("= ")
    assert time.perf_counter() - t0 < 5


def test_loadsgf_and_printsgf(engine, tmp_path, test_data):
    path = test_data / "random_19_0.sgf"
    assert ask(engine, f"loadsgf {path} 5") == "= black\n\n"
    stones = ask(engine, "list_stones b").split()[1:] + ask(engine, "list_stones w").split()[1:]
    assert len(stones) == 4
    assert ask(engine, f"loadsgf {path}") == "= black\n\n"  # 160 moves played
    assert ask(engine, f"loadsgf {test_data / 'random_19_2.sgf'} 2") == "= white\n\n"
    assert ask(engine, f"loadsgf {tmp_path / 'missing.sgf'}") == "? cannot load file\n\n"
    assert ask(engine, f"loadsgf {test_data / 'broken.sgf'}") == "? cannot load file\n\n"
    assert ask(engine, "loadsgf") == "? missing filename\n\n"
    out = ask(engine, "printsgf")
    assert out.startswith("= \n(;") and "SZ[19]" in out
    assert ask(engine, f"printsgf {tmp_path / 'g.sgf'}") == "=\n\n"
    assert (tmp_path / "g.sgf").read_text().startswith("(;")
    stones = (ask(engine, "list_stones b"), ask(engine, "list_stones w"))
    assert ask(engine, "clear_board") == "=\n\n"
    assert ask(engine, f"loadsgf {tmp_path / 'g.sgf'}") == "= white\n\n"  # round trip
    assert (ask(engine, "list_stones b"), ask(engine, "list_stones w")) == stones


def test_scoring_commands(engine):
    assert ask(engine, "boardsize 5") == "=\n\n"
    assert ask(engine, "komi 0") == "=\n\n"
    for mv in ("b c1", "b c2", "b c3", "b c4", "b c5", "w d1", "w d2", "w d3", "w d4", "w d5",
               "w a1"):
        ask(engine, f"play {mv}")
    # black owns columns A-C with a dead white stone in it, white owns D-E
    assert ask(engine, "final_score") == "= B+5\n\n"
    assert ask(engine, "final_status_list dead") == "= A1\n\n"
    alive = ask(engine, "final_status_list alive")
    assert "C1" in alive and "D1" in alive and "A1" not in alive
    assert ask(engine, "final_status_list nonsense") == "? invalid status\n\n"


def test_analysis_output_format(engine):
    lines = []
    engine.out = lines.append
    assert ask(engine, "lz-genmove_analyze b 10") is None
    text = "".join(lines)
    assert text.startswith("=\n") and "info move " in text and "\nplay " in text
    assert text.endswith("\n\n")
    first = text.splitlines()[1].split()
    for key in ("visits", "winrate", "prior", "lcb", "order", "pv"):
        assert key in first
    assert ask(engine, "gogui-analyze_commands").count("/") >= 8
    assert ask(engine, "alphago-policy_heatmap").startswith("= COLOR")
    assert "wins" in ask(engine, "alphago-value")
    assert ask(engine, "alphago-pv").startswith("= VAR ")


def _kata_infos(text: str) -> tuple[list[dict], list[float] | None]:
    """Parse one kata-analyze line the way review tools do: key value pairs per info."""
    body, _, own = text.partition("ownership ")
    infos = []
    for part in body.split("info ")[1:]:
        tok = part.split()
        pv_at = tok.index("pv")
        fields = {tok[i]: tok[i + 1] for i in range(0, pv_at, 2)}
        fields["pv"] = tok[pv_at + 1:]
        infos.append(fields)
    return infos, [float(v) for v in own.split()] if own else None


def test_kata_analyze_reports_floats_and_ownership(engine):
    lines = []
    engine.out = lines.append
    ask(engine, "play b E5")
    assert ask(engine, "kata-analyze w 10 ownership true") is None
    text = "".join(lines)
    assert text.startswith("=\n") and text.endswith("\n\n")
    infos, own = _kata_infos(text.splitlines()[1])
    assert infos and [int(i["order"]) for i in infos] == list(range(len(infos)))
    for info in infos:
        assert 0.0 <= float(info["winrate"]) <= 1.0 and 0.0 <= float(info["prior"]) <= 1.0
        assert "." in info["winrate"] and int(info["visits"]) >= 1 and info["pv"]
        assert float(info["utility"]) == pytest.approx(2 * float(info["winrate"]) - 1, abs=1e-5)
    # 81 values, row by row from A9; white to move: black's E5 counts against it
    assert len(own) == 81 and all(-1.0 <= v <= 1.0 for v in own)
    assert own[4 * 9 + 4] < -0.5
    lines.clear()
    assert ask(engine, "kata-genmove_analyze b interval 10") is None
    text = "".join(lines)
    infos, own = _kata_infos(text.splitlines()[1])
    assert infos and own is None and "\nplay " in text
    assert ask(engine, "kata-analyze b 10 ownership").startswith("? syntax error")
    assert ask(engine, "kata-analyze b 10 ownership maybe").startswith("? syntax error")
    assert "kata-analyze" in ask(engine, "list_commands")


def test_analysis_avoid_allow_and_maxmoves(engine):
    """Leela Zero's and KataGo's ``avoid``/``allow color vertices depth``: the moves
    analysed, and the move a genmove_analyze plays, keep to them; ``maxmoves N`` reports
    the N best."""
    lines = []
    engine.out = lines.append
    corner = "A1,B1,C1,A2,B2,C2,A3,B3,C3"
    assert ask(engine, f"lz-analyze b 10 allow b {corner} 1") is None
    infos, _ = _kata_infos(lines[1])
    assert infos and {i["move"] for i in infos} <= set(corner.split(","))
    lines.clear()
    assert ask(engine, "kata-analyze b 10 avoid b E5,pass 1 avoid w D4 2 ownership true") is None
    infos, own = _kata_infos(lines[1])
    assert infos and own and not {i["move"] for i in infos} & {"E5", "pass"}
    lines.clear()
    assert ask(engine, f"kata-genmove_analyze b allow b {corner} 1") is None
    played = "".join(lines).split("\nplay ")[1].split()[0]
    assert played in corner.split(",")
    assert ask(engine, "list_stones black") == f"= {played}\n\n"
    lines.clear()
    assert ask(engine, "kata-analyze b 10 maxmoves 2") is None
    infos, _ = _kata_infos(lines[1])
    assert len(infos) == 2
    assert ask(engine, "lz-analyze b 10 maxmoves 0").startswith("? syntax error")
    lines.clear()
    assert ask(engine, "kata-analyze b 10 pvVisits true") is None
    line = lines[1]
    for part in line.split("info ")[1:]:  # after the pv, each pv move's visits, falling
        pv, visits = part.split(" pv ")[1].split(" pvVisits ")
        counts = [int(v) for v in visits.split()]
        assert len(counts) == len(pv.split()) and counts == sorted(counts, reverse=True)
        assert counts[0] == int(part.split()[3])  # the move's own visits come first
    assert ask(engine, "kata-analyze b 10 pvVisits maybe").startswith("? syntax error")
    for bad in ("avoid b E5", "avoid b E5 0", "avoid x E5 1", "avoid b Z99 1", "allow b , 1",
                "avoid b E5 x"):
        answer = ask(engine, f"lz-analyze b 10 {bad}")
        assert answer.startswith("? ") and ("syntax error" in answer or "color" in answer), bad


def test_policy_player_is_deterministic():
    a = GtpEngine(PolicyPlayer(UniformEvaluator()), size=9)
    b = GtpEngine(PolicyPlayer(UniformEvaluator()), size=9)
    for _ in range(5):
        assert ask(a, "genmove b") == ask(b, "genmove b")


def _server(*args, stdin=""):
    return subprocess.run([sys.executable, str(ROOT / "gtp_server.py"), *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_server_rejects_bad_options_and_models(tmp_path):
    bad = _server("--visits", "0")
    assert bad.returncode != 0 and "--visits" in bad.stderr and bad.stdout == ""
    missing = _server("--model", str(tmp_path / "none.pt"))
    assert missing.returncode != 0 and "model file not found" in missing.stderr
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    out = _server("--model", str(corrupt))
    assert out.returncode != 0 and "corrupt" in out.stderr and "Traceback" not in out.stderr
    assert _server("--frobnicate").returncode != 0
    nv = _server("--value-model", str(tmp_path / "none.pt"))
    assert nv.returncode != 0 and "value model file not found" in nv.stderr
    bad_value = _server("--value-model", str(corrupt))
    assert bad_value.returncode != 0 and "corrupt" in bad_value.stderr


def test_the_shipped_value_net_goes_with_the_shipped_policy_only():
    from alphago.cli import gtp as mod

    ap = mod.build_parser()

    def value(*argv):
        return mod.resolve_options(ap, list(argv))["value_model"]

    from alphago import shipped

    pair = str(shipped.VALUE_SP) if shipped.VALUE_SP.is_file() else None
    if shipped.POLICY_SL.is_file():  # AlphaGo's pair: the policy net brings its value net
        assert value("--model", str(shipped.POLICY_SL)) == pair
    # the default: a dual net needs nothing beside it, the policy net its partner
    assert value() == (None if shipped.default_model() == shipped.DUAL else pair)
    assert value("--value-model", "none") is None
    assert value("--policy-only") is None and value("--uniform") is None


def test_the_balanced_rollouts_go_with_the_net_they_were_balanced_for(tmp_path):
    from alphago import shipped
    from alphago.cli import gtp as mod

    ap = mod.build_parser()

    def rollouts(*argv):
        return mod.resolve_options(ap, list(argv))["rollout_policy"]

    assert shipped.ROLLOUT_BALANCED.is_file() and shipped.ROLLOUT.is_file()
    assert rollouts("--model", str(shipped.DUAL)) == str(shipped.ROLLOUT_BALANCED)
    # a net the weights were not balanced for gets the supervised ones, even a copy
    copy = tmp_path / "dual_copy.pt"
    copy.write_bytes(shipped.DUAL.read_bytes())
    assert rollouts("--model", str(copy)) == str(shipped.ROLLOUT)
    assert rollouts("--model", str(shipped.POLICY_SL)) == str(shipped.ROLLOUT)
    assert rollouts("--uniform") == str(shipped.ROLLOUT)
    # an explicit choice wins
    assert rollouts("--rollout-policy", str(shipped.ROLLOUT)) == str(shipped.ROLLOUT)
    assert rollouts("--rollout-policy", "uniform") == "uniform"


def test_server_session_over_pipes():
    cmds = "protocol_version\nboardsize 9\nplay b e5\ngenmove w\n10 lz-analyze 5\nname\nquit\n"
    out = _server("--uniform", "--visits", "8", stdin=cmds)
    assert out.returncode == 0, out.stderr
    chunks = out.stdout.split("\n\n")
    assert chunks[0] == "= 2" and chunks[3].startswith("= ")
    assert chunks[4].startswith("=10")
    assert "= alphago-py" in out.stdout


def test_server_leaves_quietly_when_its_controller_goes_away():
    """A GUI or match tool killed mid-game closes its end of the engine's stdout: the next
    answer meets a broken pipe, and the engine exits 0 with a note, not a traceback."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "gtp_server.py"), "--uniform",
                             "--visits", "8"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the controller stops reading before any answer is written
    _, err = proc.communicate(b"boardsize 9\ngenmove b\nkata-analyze 5\n", timeout=300)
    err = err.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "closed the connection" in err


def test_gogui_interrupt_ends_a_long_genmove_with_its_best_move():
    """GoGui sends '# interrupt' (a comment line) while a genmove runs when the engine
    lists gogui-interrupt: the move comes at once."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "gtp_server.py"), "--uniform",
                             "--visits", "100000000", "--threads", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)
    try:
        def send(line):
            proc.stdin.write(line + "\n")
            proc.stdin.flush()

        def answer():
            lines = []
            while not lines or lines[-1] != "":
                lines.append(proc.stdout.readline().rstrip("\n"))
            return "\n".join(lines[:-1])

        send("list_commands")
        assert "gogui-interrupt" in answer().split()
        send("boardsize 9")
        assert answer() == "="
        send("genmove b")
        time.sleep(2.0)  # searching a hundred million visits
        t0 = time.perf_counter()
        send("# interrupt")
        move = answer()
        assert move.startswith("= ") and len(move.split()) == 2
        assert time.perf_counter() - t0 < 10
        send("quit")
        assert answer() == "="
    finally:
        proc.kill()
        proc.wait()


def test_an_interrupt_between_commands_does_not_cut_the_next_genmove(engine):
    engine.interrupt.set()  # '# interrupt' that came after its genmove had answered
    assert ask(engine, "genmove b").startswith("= ")
    assert engine.last_result.visits >= 16  # the fixture's full budget


def test_clear_cache_forgets_the_tree_and_keeps_the_game(engine):
    assert ask(engine, "play b e5") == "=\n\n"
    assert ask(engine, "genmove w").startswith("= ")
    assert engine.player.trees and engine.player.trees[9].nodes() > 1
    assert ask(engine, "clear_cache") == "=\n\n"
    assert not engine.player.trees
    assert ask(engine, "list_stones black") == "= E5\n\n"
    assert ask(engine, "stop") == "=\n\n"
    assert ask(engine, "genmove b").startswith("= ")


def test_time_controls_respected_by_the_server():
    cmds = ["boardsize 9", "time_settings 4 0 0"]  # absolute: 4 seconds for the whole game
    cmds += [f"genmove {'b' if i % 2 == 0 else 'w'}" for i in range(16)]
    cmds += ["quit"]
    t0 = time.perf_counter()
    out = _server("--uniform", "--visits", "100000", stdin="\n".join(cmds) + "\n")
    wall = time.perf_counter() - t0
    assert out.returncode == 0
    answers = [c for c in out.stdout.split("\n\n") if c.startswith("=")]
    assert len(answers) == 19
    # 8 moves each from a 4 s clock, with the start-up and compile of a fresh process
    assert wall < 4 + 30


SABAKI = ROOT / "tests" / "sabaki"


@pytest.mark.skipif(not (SABAKI / "node_modules" / "@sabaki" / "gtp").exists(),
                    reason="npm install in tests/sabaki first (.ci/run does)")
def test_sabaki_gtp_client_end_to_end():
    import json
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    out = subprocess.run([node, str(SABAKI / "e2e.js"), sys.executable,
                          str(ROOT / "gtp_server.py"), "--uniform", "--visits", "16"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["errors"] == [] and res["name"] == "alphago-py" and res["analyzeListed"]
    assert res["genmove"] not in ("", "resign")
    assert res["afterAnalysis"] == "alphago-py" and not res["analysisError"]
    assert res["infos"] >= 1
    first = res["first"]
    assert 0 <= first["winrate"] <= 10000 and first["visits"] >= 1 and first["pv"]
    assert res["illegal"] == "illegal move"
    # kata-analyze: floats in [0, 1] and the 81 ownership values of the 9x9 board
    assert res["kataListed"] and res["afterKata"] == "alphago-py" and not res["kataError"]
    kata = res["kataFirst"]
    assert res["kataInfos"] >= 1 and 0 <= kata["winrate"] <= 1 and 0 <= kata["prior"] <= 1
    assert kata["visits"] >= 1 and kata["order"] == 0 and kata["pv"] and kata["move"]
    own = res["ownership"]
    assert len(own) == 81 and all(-1 <= v <= 1 for v in own)


def test_pondering_searches_on_the_opponents_time():
    player = MCTSPlayer(UniformEvaluator(), SearchConfig(visits=8, max_nodes=3000, batch_size=4))
    eng = GtpEngine(player, size=9, ponder=True)
    assert ask(eng, "genmove b").startswith("= ")
    time.sleep(1.0)
    tree = player.tree(9)
    eng.stop_pondering()
    pondered = tree.root_visits()
    assert pondered > 8  # more than one move's budget went into the opponent's turn
    move = ask(eng, "genmove w")  # white to move: the pondered tree is its root
    assert move.startswith("= ")
    assert ask(eng, "name") == "= alphago-py\n\n"  # any command stops pondering cleanly


def test_place_free_handicap_beyond_the_fixed_layout():
    eng = GtpEngine(PolicyPlayer(UniformEvaluator()), size=10)  # even board: 4 fixed points
    out = ask(eng, "place_free_handicap 6").split()[1:]
    assert len(set(out)) == 6
    assert {"C3", "H8", "C8", "H3"} <= set(out)  # the fixed four (3rd line), then two more


def test_on_off_search_flags_reach_the_search_both_ways():
    from alphago.cli import gtp as mod

    ap = mod.build_parser()
    for word, want in (("off", False), ("on", True), ("false", False), ("1", True)):
        assert mod.resolve_options(ap, ["--rollouts", word])["search"].rollouts is want
    assert mod.resolve_options(ap, [])["search"].rollouts is True  # the default


def test_the_coalescing_flag_takes_its_three_words_and_refuses_others(capsys):
    from alphago.cli import gtp as mod

    ap = mod.build_parser()
    assert mod.resolve_options(ap, [])["search"].nn_coalesce == "auto"
    for word in ("on", "off", "auto"):
        assert mod.resolve_options(ap, ["--nn-coalesce", word])["search"].nn_coalesce == word
    with pytest.raises(SystemExit):
        mod.resolve_options(ap, ["--nn-coalesce", "maybe"])
    assert "--nn-coalesce: nn_coalesce must be one of auto, on, off" in capsys.readouterr().err


def test_threads_default_to_the_cores_unless_given(tmp_path, monkeypatch):
    """Left out, --threads is one search thread per core the process may use (at most 8);
    the command line and a config file override it."""
    import os

    from alphago.cli import gtp as mod

    ap = mod.build_parser()
    for cores, want in ((1, 1), (2, 2), (6, 6), (32, 8)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)),
                            raising=False)
        assert mod.resolve_options(ap, ["--uniform"])["search"].threads == want
    assert mod.resolve_options(ap, ["--uniform", "--threads", "1"])["search"].threads == 1
    cfg = tmp_path / "engine.toml"
    cfg.write_text("threads = 3\n")
    assert mod.resolve_options(ap, ["--uniform", "--config", str(cfg)])["search"].threads == 3


@pytest.mark.parametrize("failure", ["notice", "build", "timer"])
def test_engine_loader_always_releases_the_server(monkeypatch, failure):
    """Whatever fails while the engine loads (stderr gone for the start-up notices, the
    build itself, no thread for the notice timer), the loader sets ``ready``: commands get
    the engine or its error, never a wait without end."""
    import threading

    from alphago.cli import gtp as mod

    def broken_print(*a, **k):
        raise OSError("stderr closed")

    def build(options):
        if failure == "build":
            raise RuntimeError("no network")
        time.sleep(0.05)  # past notice_after: the 'ready after' notice is printed
        return "engine"

    if failure == "notice":
        monkeypatch.setattr("builtins.print", broken_print)
    if failure == "timer":
        monkeypatch.setattr(threading, "Timer", lambda *a, **k: (_ for _ in ()).throw(
            RuntimeError("can't start new thread")))
    lazy = mod.LazyEngine({}, build=build, notice_after=0.01)
    assert lazy.ready.wait(10)
    monkeypatch.undo()
    if failure == "notice":
        assert lazy.get() == "engine"
    else:
        with pytest.raises(RuntimeError):
            lazy.get()
