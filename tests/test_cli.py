"""The installed commands: every ``[project.scripts]`` entry names a main that prints its
help, and the shipped weights are found from the package."""

import contextlib
import importlib
import io
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_the_engine_and_the_analysis_engine_are_installed_commands():
    assert SCRIPTS["alphago-gtp"] == "alphago.cli.gtp:main"
    assert SCRIPTS["alphago-analysis"] == "alphago.cli.analysis:main"
    for name in ("alphago-train", "alphago-selfplay", "alphago-rl", "alphago-match",
                 "alphago-eval", "alphago-bench", "alphago-campaign"):
        assert name in SCRIPTS


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_command_prints_its_help(name):
    module, func = SCRIPTS[name].split(":")
    main = getattr(importlib.import_module(module), func)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = out.getvalue()
    assert text.startswith("usage:") and len(text.splitlines()) > 3


def test_shipped_weights_are_found_from_the_package():
    from alphago import shipped

    assert shipped.POLICY_SL.is_file() and shipped.ROLLOUT.is_file()
    assert shipped.default_model().is_file()
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"]["share/alphago/data"]
    for pattern in data_files:  # what pip install . copies includes every shipped file
        assert list(ROOT.glob(pattern)), pattern


def test_bench_compares_search_threads_up_to_the_cores():
    from alphago.tools.bench import search_thread_counts

    assert search_thread_counts(1) == [1]
    assert search_thread_counts(2) == [1, 2]
    assert search_thread_counts(12) == [1, 2, 4, 8, 12]
    assert search_thread_counts(16) == [1, 2, 4, 8, 16]


def test_train_switches_take_on_or_off_and_refuse_other_words():
    from alphago.cli.train_sl import build_parser
    base = ["--shards", "s", "--run-dir", "r"]
    ap = build_parser()
    assert ap.parse_args(base + ["--batch-norm", "off"]).model_batch_norm is False
    assert ap.parse_args(base + ["--reinforce", "yes"]).train_reinforce is True
    assert ap.parse_args(base).train_reinforce is None
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        ap.parse_args(base + ["--visit-targets", "sometimes"])
    assert exc.value.code == 2 and "expected on or off" in err.getvalue()


def test_selfplay_command_writes_games_and_keeps_only_the_learners_moves(tmp_path):
    import json

    from alphago.cli import selfplay

    def run(out, *opts):
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            assert selfplay.main(["--model", str(ROOT / "data/exit9x9.pt"), "--size", "9",
                                  "--games", "2", "--device", "cpu", "--out", str(out),
                                  *opts]) == 0
        return json.loads(text.getvalue())

    both = run(tmp_path / "a")
    assert both["games"] == 2 and both["positions"]["train"] == both["moves"]
    assert len(list((tmp_path / "a").rglob("*.sgf"))) == 2
    learner = run(tmp_path / "b", "--opponent", str(ROOT / "data/exit9x9.pt"), "--learner-only")
    assert abs(2 * learner["positions"]["train"] - learner["moves"]) <= 2  # its half of the moves
    assert selfplay._names(selfplay.build_parser().parse_args(
        ["--model", "m/net.pt", "--opponent", "o/net.pt", "--out", "x"])) == ("net", "net-opponent")
