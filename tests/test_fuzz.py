import random

from alphago.tools import fuzz
from alphago.board import BLACK, WHITE
from alphago.config import SearchConfig
from alphago.evaluator import UniformEvaluator
from alphago.gtp import GtpEngine
from alphago.player import MCTSPlayer


def test_fuzzed_lines_never_break_the_engine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # printsgf with a fuzzed file name writes here
    rng = random.Random(12345)
    player = MCTSPlayer(UniformEvaluator(), SearchConfig(visits=2, max_nodes=500, batch_size=2))
    eng = GtpEngine(player, size=9)
    eng.cmd_boardsize(["9"], "")
    shadow = fuzz.Shadow(9)
    lines = 0
    for _ in range(6000):
        line = fuzz.random_line(rng, shadow.size)
        words = [w for w in line.split() if not w.isdigit()][:1]
        if words in (["lz-analyze"], ["loadsgf"]):
            continue  # streaming and file commands are covered elsewhere
        out = eng.handle(line + "\n")
        lines += 1
        clean = eng.preprocess(line)
        if not clean:
            assert out is None
            continue
        assert out is not None and out[0] in "=?" and out.endswith("\n\n"), (line, out)
        ok = out.startswith("=")
        answer = out[1:].lstrip("0123456789").strip()
        shadow.apply(clean, ok, answer)
        if shadow.size != eng.size:
            raise AssertionError(f"size diverged after {line!r}")
        for color in (BLACK, WHITE):
            got = sorted(eng.handle(f"list_stones {'b' if color == BLACK else 'w'}")[1:]
                         .split())
            assert got == shadow.stones(color), f"board diverged after {line!r}"
    assert lines > 5000


def test_fuzzed_analysis_options_answer_or_refuse_cleanly():
    """Random mixes of the analysis commands' clauses (avoid/allow, maxmoves, pvVisits,
    ownership) and junk: a GTP error, or a stream that starts with '=' and
    ends with a blank line; the board is never touched by lz-/kata-analyze."""
    rng = random.Random(2026)
    player = MCTSPlayer(UniformEvaluator(), SearchConfig(visits=2, max_nodes=500, batch_size=2))
    eng = GtpEngine(player, size=9)
    eng.handle("boardsize 9")
    eng.handle("play b e5")
    words = ["avoid", "allow", "maxmoves", "pvVisits", "ownership", "true",
             "false", "b", "w", "x", "1", "2", "0", "-1", "99999999999999999999", "a1,b2",
             "pass", "e5,pass", "z99", ",", "a1,,c3", "nan"]
    answered = refused = 0
    for _ in range(300):
        cmd = rng.choice(["lz-analyze", "kata-analyze"])
        opts = " ".join(rng.choice(words + fuzz.JUNK[:20]) for _ in range(rng.randrange(0, 9)))
        out = []
        eng.out = out.append
        reply = eng.handle(f"{cmd} b 1 {opts}")  # a report every 0.01 s: one, in-process
        if reply is not None:
            assert reply.startswith("? ") and reply.endswith("\n\n"), (opts, reply)
            refused += 1
            continue
        text = "".join(out)
        assert text.startswith("=") and text.endswith("\n\n"), (opts, text)
        answered += 1
    assert eng.handle("list_stones black") == "= E5\n\n"
    assert eng.handle("list_stones white") == "=\n\n"
    assert answered > 20 and refused > 20
