"""The JSON analysis engine against the query and response shapes of KataGo's analysis
protocol (docs/Analysis_Engine.md in the KataGo repository)."""

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from alphago.analysis import AnalysisEngine, serve
from alphago.config import SearchConfig
from alphago.evaluator import UniformEvaluator
from alphago.player import MCTSPlayer

ROOT = Path(__file__).resolve().parents[1]
# the example query of KataGo's documentation, with a small visit budget added
DOC_QUERY = {"id": "foo", "initialStones": [["B", "Q4"], ["B", "C4"]],
             "moves": [["W", "P5"], ["B", "P6"]], "rules": "tromp-taylor", "komi": 7.5,
             "boardXSize": 19, "boardYSize": 19, "analyzeTurns": [0, 1, 2], "maxVisits": 24}
MOVE_FIELDS = {"move", "visits", "winrate", "prior", "lcb", "utility", "order", "pv"}


def make_engine(report_as="BLACK", visits=16):
    out = []
    player = MCTSPlayer(UniformEvaluator(), SearchConfig(visits=visits, max_nodes=5000,
                                                          batch_size=4))
    return AnalysisEngine(player, out.append, visits=visits, report_as=report_as,
                          ownership_playouts=32), out


def run_lines(engine, *queries) -> None:
    text = "\n".join(q if isinstance(q, str) else json.dumps(q) for q in queries) + "\n"
    assert serve(engine, io.StringIO(text)) == 0


def test_multi_turn_query_answers_each_turn_in_katagos_shape():
    engine, out = make_engine()
    run_lines(engine, {**DOC_QUERY, "includeOwnership": True, "includePolicy": True,
                       "includePVVisits": True})
    assert [r["turnNumber"] for r in out] == [0, 1, 2]
    for r in out:
        assert r["id"] == "foo" and r["isDuringSearch"] is False
        assert r["moveInfos"] and MOVE_FIELDS <= set(r["moveInfos"][0])
        assert [m["order"] for m in r["moveInfos"]] == list(range(len(r["moveInfos"])))
        assert sum(m["visits"] for m in r["moveInfos"]) <= r["rootInfo"]["visits"]
        assert r["rootInfo"]["visits"] >= 24 and 0 <= r["rootInfo"]["winrate"] <= 1
        assert isinstance(r["rootInfo"]["scoreLead"], float)
        assert len(r["ownership"]) == 361 and all(-1 <= v <= 1 for v in r["ownership"])
        assert len(r["policy"]) == 362
        for m in r["moveInfos"]:  # each pv move's visits, from the move's own down
            assert len(m["pvVisits"]) == len(m["pv"]) and m["pvVisits"][0] == m["visits"]
            assert m["pvVisits"] == sorted(m["pvVisits"], reverse=True)
        json.dumps(r)  # plain JSON types throughout
    # row-major from A19: Q4 is row 15 (from the top), column 15 (no I); black's stone
    q4 = 15 * 19 + 15
    assert out[0]["policy"][q4] == -1 and out[0]["ownership"][q4] > 0.5
    legal = [v for v in out[0]["policy"] if v >= 0]
    assert sum(legal) == pytest.approx(1.0, abs=1e-3)
    assert out[1]["policy"][14 * 19 + 14] == -1  # P5, white's first move
    assert all(m["move"] not in ("Q4", "C4", "P5") for m in out[1]["moveInfos"])


def test_perspective_of_reports():
    """Turn 0 of the doc query is White's move: BLACK reports flip it, SIDETOMOVE does not."""
    results = {}
    for persp in ("BLACK", "SIDETOMOVE"):
        engine, out = make_engine(persp)
        run_lines(engine, {**DOC_QUERY, "analyzeTurns": [0], "includeOwnership": True})
        results[persp] = out[0]
    b, s = results["BLACK"], results["SIDETOMOVE"]
    assert b["rootInfo"]["currentPlayer"] == "W"
    assert b["rootInfo"]["winrate"] == pytest.approx(1 - s["rootInfo"]["winrate"])
    assert b["rootInfo"]["scoreLead"] == pytest.approx(-s["rootInfo"]["scoreLead"])
    assert b["ownership"] == pytest.approx([-v for v in s["ownership"]])
    assert b["ownership"][15 * 19 + 15] > 0.5  # black's Q4 is black's from Black's view


def test_bad_queries_get_error_lines_and_the_engine_goes_on():
    engine, out = make_engine()
    base = {"rules": "chinese", "komi": 7.5, "boardXSize": 9, "boardYSize": 9}
    run_lines(engine,
              "this is not json",
              "[1, 2]",
              {**base, "moves": []},  # no id
              {**base, "id": "occupied", "moves": [["B", "E5"], ["W", "E5"]]},
              {**base, "id": "offboard", "moves": [["B", "Q16"]]},
              {**base, "id": "player", "moves": [["X", "E5"]]},
              {**base, "id": "turns", "moves": [["B", "E5"]], "analyzeTurns": [5]},
              {**base, "id": "komi", "moves": [], "komi": 7.3},
              {**base, "id": "size", "moves": [], "boardXSize": 9, "boardYSize": 13},
              {"id": "norules", "moves": [], "boardXSize": 9, "boardYSize": 9},
              {**base, "id": "act", "action": "fly"},
              {**base, "id": "twice", "moves": [], "initialStones": [["B", "E5"], ["W", "E5"]]},
              {**base, "id": "setpass", "moves": [], "initialStones": [["B", "pass"]]},
              {**base, "id": "ok", "moves": [["B", "E5"], ["W", "(2,2)"]]})
    errors = [r for r in out if "error" in r]
    assert len(errors) == 13
    assert errors[0]["error"].startswith("could not parse json")
    by_id = {r.get("id"): r for r in errors}
    assert by_id["occupied"]["field"] == "moves" and "illegal move 2" in by_id["occupied"]["error"]
    for qid, field in (("offboard", "moves"), ("player", "moves"), ("turns", "analyzeTurns"),
                       ("komi", "komi"), ("size", "boardYSize"), ("norules", "rules"),
                       ("act", "action"), ("twice", "initialStones"),
                       ("setpass", "initialStones")):
        assert by_id[qid]["field"] == field, qid
    ok = [r for r in out if r.get("id") == "ok"]
    assert len(ok) == 1 and ok[0]["turnNumber"] == 2 and ok[0]["moveInfos"]
    assert ok[0]["rootInfo"]["currentPlayer"] == "B"


def test_actions_warnings_and_terminate():
    engine, out = make_engine(visits=10**6)
    base = {"rules": "japanese", "komi": 6.5, "boardXSize": 9, "boardYSize": 9, "moves": []}
    text = io.StringIO(json.dumps({"id": "v", "action": "query_version"}) + "\n"
                       + json.dumps({"id": "c", "action": "clear_cache"}) + "\n")
    serve(engine, text)
    assert out[0]["version"] and out[0]["id"] == "v" and out[0]["action"] == "query_version"
    assert out[1] == {"id": "c", "action": "clear_cache"}
    out.clear()
    engine, out = make_engine(visits=10**6)  # searches until terminated
    engine.submit(json.dumps({**base, "id": "long", "overrideSettings": {}}))
    assert {w["field"] for w in out if "warning" in w} == {"rules", "overrideSettings"}
    worker = threading.Thread(target=engine.run_next)
    worker.start()
    worker.join(0.5)
    assert worker.is_alive()  # a million visits: still searching
    engine.submit(json.dumps({"id": "t", "action": "terminate", "terminateId": "long"}))
    worker.join(30)
    assert not worker.is_alive()
    final = [r for r in out if r.get("id") == "long" and "moveInfos" in r]
    assert len(final) == 1 and 0 < final[0]["rootInfo"]["visits"] < 10**6
    assert any(r.get("action") == "terminate" for r in out)


def test_avoid_and_allow_moves_keep_the_search_to_them():
    engine, out = make_engine(visits=64)
    base = {"rules": "chinese", "boardXSize": 9, "boardYSize": 9, "moves": [["B", "E5"]],
            "analyzeTurns": [0, 1]}
    corner = ["A1", "B1", "A2", "B2"]
    run_lines(engine,
              {**base, "id": "avoid", "avoidMoves": [
                  {"player": "B", "moves": ["E5", "D4", "pass"], "untilDepth": 1},
                  {"player": "W", "moves": ["D5"], "untilDepth": 1}]},
              {**base, "id": "allow",
               "allowMoves": [{"player": "W", "moves": corner, "untilDepth": 1}]},
              {**base, "id": "bad1", "avoidMoves": [{"player": "B", "moves": ["E5"]}]},
              {**base, "id": "bad2", "avoidMoves": [{"player": "B", "moves": ["Z9"],
                                                     "untilDepth": 1}]},
              {**base, "id": "bad3", "allowMoves": {"player": "B"}},
              {**base, "id": "bad4", "avoidMoves": [{"player": "B", "moves": "E5",
                                                     "untilDepth": 1}]},
              {**base, "id": "bad5", "avoidMoves": [{"player": "B", "moves": ["E5"],
                                                     "untilDepth": 0}]})
    res = {(r["id"], r["turnNumber"]): r for r in out if "moveInfos" in r}
    moves = {k: {m["move"] for m in r["moveInfos"]} for k, r in res.items()}
    assert moves[("avoid", 0)] and not moves[("avoid", 0)] & {"E5", "D4", "pass"}
    assert moves[("avoid", 1)] and "D5" not in moves[("avoid", 1)]
    assert moves[("allow", 0)] - set(corner)  # turn 0 is black's: the allow is white's alone
    assert moves[("allow", 1)] and moves[("allow", 1)] <= set(corner)
    errors = {r["id"]: r for r in out if "error" in r}
    assert set(errors) == {"bad1", "bad2", "bad3", "bad4", "bad5"}
    assert {r["field"] for r in errors.values()} == {"avoidMoves", "allowMoves"}
    assert not [r for r in out if "warning" in r]


def test_reports_during_search():
    engine, out = make_engine(visits=10**6)
    engine.submit(json.dumps({"id": "r", "rules": "chinese", "boardXSize": 9, "boardYSize": 9,
                              "moves": [], "reportDuringSearchEvery": 0.05, "maxVisits": 3000}))
    engine.close()
    while engine.run_next():
        pass
    during = [r for r in out if r["isDuringSearch"]]
    assert during and out[-1]["isDuringSearch"] is False
    assert "scoreLead" in out[-1]["rootInfo"]


def test_analysis_command_end_to_end():
    queries = [DOC_QUERY, {"id": "bad", "moves": "Q4"}, {"id": "x", "action": "query_version"}]
    stdin = "\n".join(json.dumps(q) for q in queries) + "\nnot json\n"
    proc = subprocess.run([sys.executable, "-m", "alphago.cli.analysis", "--uniform",
                           "--visits", "8", "--size", "9"], input=stdin, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(r["turnNumber"] for r in lines if r.get("id") == "foo") == [0, 1, 2]
    assert any(r.get("id") == "bad" and "error" in r for r in lines)
    assert any(r.get("version") for r in lines)
    assert sum("error" in r for r in lines) == 2


def test_analysis_command_leaves_quietly_when_its_controller_goes_away():
    proc = subprocess.Popen([sys.executable, "-m", "alphago.cli.analysis", "--uniform",
                             "--visits", "8", "--size", "9"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.close()  # the review tool stops reading before any answer is written
    _, err = proc.communicate((json.dumps(DOC_QUERY) + "\n").encode(), timeout=300)
    err = err.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "closed the connection" in err
