"""Inference backends: ONNX export and runtime, int8, the auto choice, fallbacks."""

import logging
import os

import numpy as np
import pytest
import torch

from alphago import checkpoint, evaluator
from alphago.config import ModelConfig, to_dict
from alphago.evaluator import OnnxEvaluator, TorchEvaluator, make_evaluator
from alphago.model import build_model

ort = pytest.importorskip("onnxruntime")
onnx_export = pytest.importorskip("alphago.onnx_export")

PRIOR_TOL = 1e-4  # fp32 ONNX Runtime vs torch eager, absolute, per prior
VALUE_TOL = 1e-4


@pytest.fixture()
def tiny_ckpt(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(board_size=9, filters=16, depth=2, heads="both", value_hidden=32)
    model = build_model(cfg).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "net.pt"
    checkpoint.save(path, model, step=7)
    return path, cfg


def planes(n=9, b=12, c=16, seed=1):
    return (np.random.default_rng(seed).random((b, c, n, n)) < 0.3).astype(np.uint8)


def test_export_metadata_round_trip(tiny_ckpt):
    path, cfg = tiny_ckpt
    out = onnx_export.export(path)
    meta = onnx_export.read_metadata(out)
    assert meta["model_config"] == to_dict(cfg)
    assert meta["feature_set"] == "basic" and meta["board_size"] == 9
    assert meta["checkpoint_sha256"] == onnx_export.file_sha256(path)


def test_onnx_matches_torch_eager(tiny_ckpt):
    path, _ = tiny_ckpt
    ref = TorchEvaluator.from_checkpoint(str(path), "cpu", bf16=False)
    ev = OnnxEvaluator(str(onnx_export.cached_onnx(path)), threads=1)
    assert ev.has_value and ev.has_policy
    x = planes()
    p1, v1 = ref.evaluate(x)
    p2, v2 = ev.evaluate(x)
    assert np.abs(p1 - p2).max() < PRIOR_TOL
    assert np.abs(v1 - v2).max() < VALUE_TOL
    one_p, one_v = ev.evaluate(x[:1])  # batch 1 through the dynamic batch axis
    assert np.abs(one_p - p1[:1]).max() < PRIOR_TOL and one_v.shape == (1,)


def test_bf16_torch_close_to_fp32(tiny_ckpt):
    path, _ = tiny_ckpt
    x = planes()
    p1, v1 = TorchEvaluator.from_checkpoint(str(path), "cpu", bf16=False).evaluate(x)
    p2, v2 = TorchEvaluator.from_checkpoint(str(path), "cpu", bf16=True).evaluate(x)
    assert np.abs(p1 - p2).max() < 2e-2 and np.abs(v1 - v2).max() < 5e-2


def test_int8_keeps_priors_and_mostly_the_same_choice(tiny_ckpt):
    path, _ = tiny_ckpt
    fp = OnnxEvaluator(str(onnx_export.cached_onnx(path)), threads=1)
    q = OnnxEvaluator(str(onnx_export.cached_onnx(path, int8=True)), threads=1)
    assert onnx_export.read_metadata(q.path)["checkpoint_sha256"] == \
        onnx_export.file_sha256(path)
    x = planes(b=64, seed=3)
    p1, v1 = fp.evaluate(x)
    p2, v2 = q.evaluate(x)
    assert (p2 > 0).all()  # softmax stays in float: no prior rounds to zero
    assert np.allclose(p2.sum(1), 1, atol=1e-4)
    assert np.abs(p1 - p2).max() < 0.1 and np.abs(v1 - v2).max() < 0.2
    assert (p1.argmax(1) == p2.argmax(1)).mean() >= 0.7


def test_export_is_cached_and_redone_when_the_checkpoint_changes(tiny_ckpt):
    path, cfg = tiny_ckpt
    first = onnx_export.cached_onnx(path)
    stamp = os.stat(first).st_mtime_ns
    assert onnx_export.cached_onnx(path) == first and os.stat(first).st_mtime_ns == stamp
    torch.manual_seed(5)
    checkpoint.save(path, build_model(cfg), step=8)  # new weights, same file name
    again = onnx_export.cached_onnx(path)
    assert onnx_export.read_metadata(again)["checkpoint_sha256"] == \
        onnx_export.file_sha256(path)
    ref = TorchEvaluator.from_checkpoint(str(path), "cpu", bf16=False)
    x = planes()
    assert np.abs(OnnxEvaluator(str(again)).evaluate(x)[0] - ref.evaluate(x)[0]).max() < \
        PRIOR_TOL


def test_other_board_sizes_go_to_the_fallback(tiny_ckpt):
    path, _ = tiny_ckpt
    ev = make_evaluator(str(path), "onnx", threads=1)
    assert isinstance(ev, OnnxEvaluator)
    p, v = ev.evaluate(planes(n=7, b=2))
    assert p.shape == (2, 50) and v.shape == (2,)


def test_fallback_to_torch_without_onnxruntime(tiny_ckpt, monkeypatch, caplog):
    path, _ = tiny_ckpt
    monkeypatch.setattr(evaluator, "onnx_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="alphago.evaluator"):
        ev = make_evaluator(str(path), "onnx", threads=1)
    assert isinstance(ev, TorchEvaluator)
    assert "onnxruntime is not installed" in caplog.text


def test_auto_picks_a_working_backend_and_says_which(tiny_ckpt, caplog):
    path, _ = tiny_ckpt
    with caplog.at_level(logging.INFO, logger="alphago.evaluator"):
        ev = make_evaluator(str(path), "auto", threads=1, batch_size=4, probe_seconds=0.05)
    assert "device auto:" in caplog.text and "onnx" in caplog.text
    p, v = ev.evaluate(planes(b=3))
    assert p.shape == (3, 82) and np.allclose(p.sum(1), 1, atol=1e-3)


def test_unknown_device_is_a_clear_error(tiny_ckpt):
    with pytest.raises(ValueError, match="unknown device"):
        make_evaluator(str(tiny_ckpt[0]), "tpu")


def test_gtp_server_plays_with_each_cpu_backend(tiny_ckpt):
    import subprocess
    import sys
    from pathlib import Path

    server = Path(__file__).resolve().parents[1] / "gtp_server.py"
    for device in ("onnx", "onnx-int8", "auto"):
        res = subprocess.run([sys.executable, str(server), "--model", str(tiny_ckpt[0]),
                              "--size", "9", "--visits", "16", "--device", device,
                              "--log-level", "INFO"],
                             input="genmove b\nquit\n", capture_output=True, text=True,
                             timeout=300)
        assert res.returncode == 0 and res.stdout.startswith("= "), (device, res.stderr[-800:])
        move = res.stdout.split()[1]
        assert move.upper() != "RESIGN"


def test_separate_value_network_for_the_search(tmp_path, tiny_ckpt):
    import subprocess
    import sys
    from pathlib import Path

    from alphago.evaluator import PolicyValueEvaluator

    torch.manual_seed(1)
    value_cfg = ModelConfig(board_size=9, filters=8, depth=1, heads="value", value_hidden=16)
    checkpoint.save(tmp_path / "value.pt", build_model(value_cfg))
    policy = TorchEvaluator.from_checkpoint(str(tiny_ckpt[0]), "cpu", bf16=False)
    value = TorchEvaluator.from_checkpoint(str(tmp_path / "value.pt"), "cpu", bf16=False)
    both = PolicyValueEvaluator(policy, value)
    x = planes()
    p, v = both.evaluate(x)
    assert np.allclose(p, policy.evaluate(x)[0]) and np.allclose(v, value.evaluate(x)[1])
    assert both.has_value and both.has_policy
    other = ModelConfig(board_size=9, filters=8, depth=1, heads="value", feature_set="alphago")
    checkpoint.save(tmp_path / "value48.pt", build_model(other))
    with pytest.raises(ValueError, match="must match"):
        PolicyValueEvaluator(policy, TorchEvaluator.from_checkpoint(str(tmp_path / "value48.pt")))
    server = Path(__file__).resolve().parents[1] / "gtp_server.py"
    res = subprocess.run([sys.executable, str(server), "--model", str(tiny_ckpt[0]),
                          "--value-model", str(tmp_path / "value.pt"), "--size", "9",
                          "--visits", "16", "--device", "cpu"],
                         input="genmove b\nquit\n", capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.startswith("= "), res.stderr[-800:]


def test_dual_checkpoint_round_trip(tmp_path, tiny_ckpt):
    path, cfg = tiny_ckpt
    model, state = checkpoint.load_model(path)
    assert model.cfg == cfg and model.cfg.heads == "both" and state["step"] == 7
    ev = TorchEvaluator(model, "cpu", bf16=False)
    assert ev.has_policy and ev.has_value
    p, v = ev.evaluate(planes())
    assert p.shape == (12, 82) and v.shape == (12,)
    assert np.allclose(p.sum(1), 1, atol=1e-5) and np.all(np.abs(v) < 1)
    checkpoint.save(tmp_path / "again.pt", model, step=8)
    again, _ = checkpoint.load_model(tmp_path / "again.pt")
    p2, v2 = TorchEvaluator(again, "cpu", bf16=False).evaluate(planes())
    assert np.array_equal(p, p2) and np.array_equal(v, v2)


def test_search_with_one_net_equals_the_net_split_in_two(tiny_ckpt):
    from alphago.board import Position
    from alphago.config import SearchConfig
    from alphago.evaluator import PolicyValueEvaluator
    from alphago.mcts import MCTS
    from alphago.model import split_heads

    model, _ = checkpoint.load_model(tiny_ckpt[0])
    pol, val = split_heads(model)
    assert pol.cfg.heads == "policy" and val.cfg.heads == "value"
    dual = TorchEvaluator(model, "cpu", bf16=False)
    pair = PolicyValueEvaluator(TorchEvaluator(pol, "cpu", bf16=False),
                                TorchEvaluator(val, "cpu", bf16=False))
    x = planes()
    (pd, vd), (pp, vp) = dual.evaluate(x), pair.evaluate(x)
    assert np.allclose(pd, pp, atol=1e-6) and np.allclose(vd, vp, atol=1e-6)
    pos = Position(9, 7.5)
    for p in (20, 60, 30):
        pos.play(p)
    trees = []
    for ev in (dual, pair):
        cfg = SearchConfig(visits=96, batch_size=8, rollouts=False, mix_lambda=0.0, seed=3,
                           max_nodes=2000)
        search = MCTS(ev, cfg, 9)
        search.set_root(pos)
        search.run(pos, visits=96)
        trees.append(search)
    a, b = trees
    assert a.info[0] == b.info[0] and a.N.sum() == b.N.sum() > 0
    assert np.array_equal(a.N, b.N)
    assert np.allclose(a.W, b.W, atol=1e-4)
    with pytest.raises(ValueError, match="both heads"):
        split_heads(pol)


def test_symmetry_ensemble_is_the_mean_of_the_views_and_equivariant(tiny_ckpt):
    from alphago import symmetry
    from alphago.board import Position
    from alphago.evaluator import evaluate_ensemble, evaluate_positions
    from alphago.player import PolicyPlayer

    ev = TorchEvaluator.from_checkpoint(str(tiny_ckpt[0]), "cpu", bf16=False)
    moves = (20, 60, 30, 41, 12)
    pos = Position(9, 7.5)
    for p in moves:
        pos.play(p)
    everything = [np.ones(82, np.float32)]
    pe, ve = evaluate_ensemble(ev, [pos], everything)
    views = [evaluate_positions(ev, [pos], [s], everything) for s in range(8)]
    assert np.allclose(pe[0], np.mean([p[0] for p, _ in views], 0), atol=1e-6)
    assert np.isclose(ve[0], np.mean([v[0] for _, v in views]), atol=1e-6)
    assert not np.allclose(views[0][0][0], views[5][0][0], atol=1e-3)  # the views differ
    for t in range(1, 8):  # the ensemble of a turned board is the turned ensemble
        turned = Position(9, 7.5)
        for p in moves:
            turned.play(int(symmetry.point_map(9)[t, p]))
        pt, vt = evaluate_ensemble(ev, [turned])
        assert np.allclose(pt[0], symmetry.apply_policy(evaluate_ensemble(ev, [pos])[0][0], t, 9),
                           atol=1e-5)
        assert np.isclose(vt[0], ve[0], atol=1e-5)
    player = PolicyPlayer(ev, symmetries=8)
    assert np.allclose(player.policy(pos), evaluate_ensemble(ev, [pos])[0][0])
    with pytest.raises(ValueError, match="1 or 8"):
        PolicyPlayer(ev, symmetries=4)


def test_root_symmetries_give_the_root_the_ensemble_priors(tiny_ckpt):
    from alphago.board import Position
    from alphago.config import SearchConfig
    from alphago.evaluator import evaluate_ensemble
    from alphago.kernels import tree as kt
    from alphago.mcts import MCTS

    ev = TorchEvaluator.from_checkpoint(str(tiny_ckpt[0]), "cpu", bf16=False)
    pos = Position(9, 7.5)
    for p in (20, 60, 30):
        pos.play(p)
    searches = {}
    for k in (1, 8):
        cfg = SearchConfig(visits=64, batch_size=8, rollouts=False, mix_lambda=0.0, seed=3,
                           max_nodes=2000, root_symmetries=k)
        searches[k] = MCTS(ev, cfg, 9)
        searches[k].set_root(pos)
    assert np.allclose(searches[8].P[0], evaluate_ensemble(ev, [pos])[0][0])
    assert not np.allclose(searches[1].P[0], searches[8].P[0], atol=1e-4)
    t = searches[8]
    t.run(pos, visits=64)
    child = int(np.argmax(t.N[0]))
    nxt = pos.copy()
    nxt.play(child)
    t.set_root(nxt)  # the reused node's priors (one view) become the ensemble's
    root = t.info[kt.I_ROOT]
    assert root != 0  # reused, not rebuilt
    assert np.allclose(t.P[root], evaluate_ensemble(ev, [nxt])[0][0])
    with pytest.raises(ValueError, match="root_symmetries"):
        SearchConfig(root_symmetries=2)
