import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sgfmill import sgf as sgfmill_sgf
from sgfmill import sgf_moves

from alphago import coords, sgf
from alphago.board import BLACK, WHITE
from alphago.kernels import board as kb


def test_parse_metadata_and_replay(test_data):
    rec = sgf.parse_sgf("h", (test_data / "handicap4.sgf").read_bytes())
    assert rec.size == 19 and rec.handicap == 4 and rec.komi == 0.5
    assert rec.result == "W+R" and rec.winner == WHITE
    assert rec.black_name == "Zhang Wěi" and rec.white_name == "佐藤"
    assert len(rec.setup_black) == 4 and rec.moves[0][0] == WHITE
    final = rec.final_position()
    assert final.move_number == len(rec.moves)
    assert final.color_at(72) == BLACK


def test_odd_komi_variations_and_ranks(test_data):
    rec = sgf.parse_sgf("o", (test_data / "odd_komi.sgf").read_bytes())
    assert rec.komi == 5.5
    assert rec.winner == 0 and rec.result == "Void"
    assert rec.black_name == "Jörg"
    assert len(rec.moves) == 11  # main line only: the first variation
    assert rec.moves[-1] == (BLACK, coords.from_sgf("oj", 19))
    assert sgf.rank_value(rec.black_rank) == 6 and sgf.rank_value("3k") == -2
    assert sgf.rank_value("9p") == 18 and sgf.rank_value("?") is None


@pytest.mark.parametrize("name,reason", [
    ("broken.sgf", "parse error"),
    ("bad_encoding.sgf", "unknown encoding"),
])
def test_bad_files_raise_with_reason(test_data, name, reason):
    with pytest.raises(sgf.BadGame) as err:
        sgf.parse_sgf(name, (test_data / name).read_bytes())
    assert err.value.reason == reason


def test_load_games_skips_and_counts(test_data):
    stats = sgf.SkipStats()
    games = list(sgf.load_games(test_data, sgf.GameFilter(sizes=(19,)), stats))
    names = sorted(g.name.rsplit("/", 1)[-1] for g in games)
    assert names == ["handicap4.sgf", "odd_komi.sgf", "random_19_0.sgf", "random_19_1.sgf",
                     "random_19_2.sgf"]
    assert stats["parse error"] == 1 and stats["unknown encoding"] == 1
    assert stats["illegal move"] == 1 and stats["no moves"] == 1 and stats["board size"] == 2
    no_handicap = list(sgf.load_games(test_data, sgf.GameFilter(allow_handicap=False)))
    assert len(no_handicap) == 4
    ranked = list(sgf.load_games(test_data, sgf.GameFilter(min_rank=6)))
    assert [g.name.rsplit("/", 1)[-1] for g in ranked] == ["odd_komi.sgf"]


def _archive_bytes(test_data, kind):
    files = sorted(test_data.glob("*.sgf"))
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as zf:
            for f in files:
                zf.writestr(f"games/{f.name}", f.read_bytes())
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for f in files:
                tf.add(f, arcname=f"games/{f.name}")
    return buf.getvalue()


@pytest.mark.parametrize("kind,suffix", [("zip", ".zip"), ("tgz", ".tgz"), ("tgz", ".tar.gz")])
def test_archives_and_dedup(tmp_path, test_data, kind, suffix):
    archive = tmp_path / f"games{suffix}"
    archive.write_bytes(_archive_bytes(test_data, kind))
    stats = sgf.SkipStats()
    games = list(sgf.load_games([archive, test_data], sgf.GameFilter(), stats))
    assert len(games) == 5
    assert stats["duplicate"] == 6  # the 5 usable games and the illegal one: dedup runs first


def test_broken_archive_is_counted_not_raised(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    stats = sgf.SkipStats()
    assert list(sgf.load_games(bad, stats=stats)) == []
    assert stats["unreadable archive"] == 1
    with pytest.raises(FileNotFoundError):
        list(sgf.iter_sgf_bytes(tmp_path / "missing.sgf"))


def test_split_is_deterministic_and_by_game(test_data):
    games = list(sgf.load_games(test_data))
    a = [sgf.split_of(g, 0.5) for g in games]
    b = [sgf.split_of(g, 0.5) for g in games]
    assert a == b
    assert all(sgf.split_of(g, 0.0) == "train" for g in games)
    assert all(sgf.split_of(g, 1.0) == "val" for g in games)


def test_write_then_read_round_trip():
    moves = [(BLACK, 60), (WHITE, 300), (BLACK, 361), (WHITE, 72)]
    data = sgf.game_to_sgf(19, moves, komi=6.5, result="B+2.5", black="me", white="you",
                           setup_black=[100], handicap=0)
    rec = sgf.parse_sgf("x", data)
    assert rec.moves == moves and rec.komi == 6.5 and rec.setup_black == [100]
    assert rec.black_name == "me" and rec.result == "B+2.5"


def _sgfmill_colors(board, n):
    mapping = {None: 0, "b": 1, "w": 2}
    rows = [[mapping[x] for x in row] for row in board.board]
    return np.array(rows[::-1], np.int32).reshape(-1)  # sgfmill row 0 is the bottom


@pytest.mark.slow
def test_replay_matches_sgfmill_on_2000_pro_games(pro_archive):
    compared = 0
    moves_compared = 0
    for name, data in sgf.iter_sgf_bytes(pro_archive):
        try:
            rec = sgf.parse_sgf(name, data)
            game = sgfmill_sgf.Sgf_game.from_bytes(data)
            board, plays = sgf_moves.get_setup_and_moves(game)
        except (sgf.BadGame, ValueError):
            continue
        if rec.size != 19 or not rec.moves:
            continue
        pos = rec.start_position()
        assert np.array_equal(pos.st[kb.F_COLOR], _sgfmill_colors(board, 19)), name
        ok = True
        for (colour, move), (color, p) in zip(plays, rec.moves):
            assert p == coords.from_rowcol_sgfmill(move, 19)
            try:
                pos.play(p, color)
            except Exception:
                ok = False  # a real illegal move in the record (9 such games in the set)
                break
            if move is not None:
                board.play(move[0], move[1], colour)
            assert np.array_equal(pos.st[kb.F_COLOR], _sgfmill_colors(board, 19)), \
                f"{name} move {pos.move_number}"
            moves_compared += 1
        compared += ok
        if compared >= 2000:
            break
    assert compared >= 2000 and moves_compared > 200_000


def test_fuzzed_sgf_bytes_are_loaded_or_skipped_with_a_reason():
    import random

    from alphago import dataset
    from alphago.tools import sgf_fuzz

    data_dir = Path(__file__).parent / "data"
    seeds = [(p.name, p.read_bytes()) for p in sorted(data_dir.glob("*.sgf"))]
    stats = sgf.SkipStats()
    gf = sgf.GameFilter(sizes=tuple(range(2, 53)), min_moves=0, dedup=False)
    files = 1500
    loaded = 0
    for rec in sgf.records_from_bytes(sgf_fuzz.fuzz(seeds, files, random.Random(11)), gf,
                                      stats, time_limit=5.0):
        loaded += 1
        dataset.game_arrays(rec)  # whatever loads also replays
    assert loaded + sum(stats.values()) == files
    assert "unexpected error" not in stats, stats.examples.get("unexpected error")
    assert stats["parse error"] > 0 and loaded > 0


def test_a_file_over_the_time_limit_is_skipped(monkeypatch):
    import time as time_mod

    real = sgf.parse_sgf

    def slow(name, data):
        if name == "slow":
            time_mod.sleep(3)
        return real(name, data)

    monkeypatch.setattr(sgf, "parse_sgf", slow)
    good = (Path(__file__).parent / "data" / "random_19_0.sgf").read_bytes()
    stats = sgf.SkipStats()
    t0 = time_mod.time()
    recs = list(sgf.records_from_bytes([("slow", good), ("fine", good)],
                                       sgf.GameFilter(dedup=False), stats, time_limit=0.5))
    assert time_mod.time() - t0 < 2.5
    assert [r.name for r in recs] == ["fine"] and stats["time limit"] == 1
