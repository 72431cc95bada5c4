import json

import numpy as np
import pytest
import torch

from alphago import checkpoint, dataset, sgf
from alphago.config import ModelConfig, TrainConfig
from alphago.model import build_model
from alphago.train import evaluate, learning_rate, train


@pytest.fixture(scope="module")
def shards(tmp_path_factory, test_data_dir=None):
    from conftest import TEST_DATA

    out = tmp_path_factory.mktemp("shards")
    summary = dataset.prepare([TEST_DATA], out, sgf.GameFilter(min_moves=10), val_fraction=0.3,
                              shard_size=150, progress=False)
    return out, summary


def test_prepare_counts_and_skips(shards):
    out, summary = shards
    assert summary["games"]["train"] + summary["games"]["val"] == 5
    assert summary["games"]["val"] >= 1 and summary["games"]["train"] >= 1
    assert summary["skipped"]["parse error"] == 1
    assert summary["skipped"]["unknown encoding"] == 1
    assert summary["skipped"]["illegal move"] == 1
    assert json.loads((out / "summary.json").read_text())["board_size"] == 19
    assert len(list((out / "train").glob("shard_*.npz"))) >= 2  # shard_size forces a split


def test_shards_round_trip_positions(shards, test_data):
    out, _ = shards
    data = dataset.PositionShards(out, "train", "basic", augment=False)
    rec = sgf.parse_sgf("g", (test_data / "random_19_0.sgf").read_bytes())
    arrays = dataset.game_arrays(rec)
    colors = dataset.unpack_colors(dataset.pack_colors(arrays.colors), 361)
    assert np.array_equal(colors, arrays.colors)
    assert arrays.last[5, 0] == arrays.move[4] and arrays.last[5, 4] == arrays.move[0]
    assert (arrays.last[0] == -1).all()
    planes, moves, outcomes = data.batch(np.arange(len(data)))
    assert planes.shape == (len(data), 16, 19, 19)
    empty = planes[:, 2].reshape(len(data), -1)
    ok = [(m == 361) or empty[i, m] == 1 for i, m in enumerate(moves)]
    assert all(ok), "every target move is an empty point in the planes"


def test_augmented_targets_follow_the_symmetry(shards):
    out, _ = shards
    data = dataset.PositionShards(out, "train", "basic", augment=True)
    rng = np.random.default_rng(3)
    planes, moves, _ = data.batch(np.arange(200), rng)
    empty = planes[:, 2].reshape(200, -1)
    assert all(m == 361 or empty[i, m] for i, m in enumerate(moves))
    plain, _, _ = dataset.PositionShards(out, "train", "basic", augment=False).batch(
        np.arange(200))
    assert not np.array_equal(plain, planes)  # some samples were transformed


def test_iter_batches_resume_and_ranks():
    a = list(zip(range(7), dataset.iter_batches(100, 10, seed=1)))
    b = list(zip(range(4), dataset.iter_batches(100, 10, seed=1, start=3)))
    for (_, x), (_, y) in zip(a[3:], b):
        assert np.array_equal(x, y)
    r0 = next(dataset.iter_batches(100, 10, seed=1, rank=0, world=2))
    r1 = next(dataset.iter_batches(100, 10, seed=1, rank=1, world=2))
    assert not set(r0) & set(r1)


def test_models_any_board_size():
    for arch in ("alphago", "resnet"):
        m = build_model(ModelConfig(arch=arch, filters=8, depth=3, heads="both"))
        for n in (9, 19):
            logits, value = m(torch.zeros(2, 16, n, n))
            assert logits.shape == (2, n * n + 1) and value.shape == (2,)
            assert (value.abs() <= 1).all()


def test_schedules():
    cfg = TrainConfig(lr=0.1, warmup_steps=10, schedule="cosine", total_steps=110)
    assert learning_rate(cfg, 0) == pytest.approx(0.01)
    assert learning_rate(cfg, 110) == pytest.approx(0.0)
    step = TrainConfig(lr=0.1, warmup_steps=1, schedule="step", step_every=50)
    assert learning_rate(step, 120) == pytest.approx(0.025)
    wsd = TrainConfig(lr=0.1, warmup_steps=10, schedule="wsd", total_steps=1000,
                      decay_steps=200)
    assert learning_rate(wsd, 0) == pytest.approx(0.01)
    assert learning_rate(wsd, 500) == pytest.approx(0.1) == learning_rate(wsd, 800)
    assert learning_rate(wsd, 900) == pytest.approx(0.05)
    assert learning_rate(wsd, 1000) == 0.0
    # continued: a later end moves the decay, the stable phase is unchanged
    longer = TrainConfig(lr=0.1, warmup_steps=10, schedule="wsd", total_steps=5000,
                         decay_steps=200)
    assert learning_rate(longer, 900) == pytest.approx(0.1)


def test_tiny_training_lowers_loss_and_resumes(shards, tmp_path):
    out, _ = shards
    mcfg = ModelConfig(filters=16, depth=2)
    tcfg = TrainConfig(batch_size=32, lr=0.1, warmup_steps=5, total_steps=300, eval_every=120,
                       eval_positions=400, checkpoint_every=30, workers=0, seed=5)
    torch.manual_seed(5)
    before = evaluate(build_model(mcfg), dataset.PositionShards(out, "train", "basic", False),
                      torch.device("cpu"), 400)
    res = train(str(out), str(tmp_path / "run"), mcfg, tcfg, "cpu", max_steps=120,
                progress=False)
    assert res.step == 120
    model, state = checkpoint.load_model(tmp_path / "run" / "last.pt")
    after = evaluate(model, dataset.PositionShards(out, "train", "basic", False),
                     torch.device("cpu"), 400)
    # random games: what can be learnt is mostly "play on empty points" (at most ~0.6 nats)
    assert after["nll"] < before["nll"] - 0.2
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 2
    res2 = train(str(out), str(tmp_path / "run"), mcfg, tcfg, "cpu", resume=True, max_steps=10,
                 progress=False)
    assert res2.step == 130
    assert checkpoint.load_state(tmp_path / "run" / "last.pt")["step"] == 130


def test_resumed_run_goes_on_averaging_its_weights(shards, tmp_path):
    out, _ = shards
    mcfg = ModelConfig(filters=8, depth=1)
    tcfg = TrainConfig(batch_size=16, lr=0.05, warmup_steps=0, total_steps=100, eval_every=1000,
                       checkpoint_every=1000, workers=0, seed=3, ema_decay=0.9)
    train(str(out), str(tmp_path / "run"), mcfg, tcfg, "cpu", max_steps=20, progress=False)
    first = checkpoint.load_state(tmp_path / "run" / "last.pt")
    train(str(out), str(tmp_path / "run"), mcfg, tcfg, "cpu", resume=True, max_steps=1,
          progress=False)
    second = checkpoint.load_state(tmp_path / "run" / "last.pt")
    assert second["step"] == 21
    name = next(k for k, v in second["weights"].items() if v.is_floating_point() and v.dim() == 4)
    e0 = first["extra"]["ema_weights"][name].float()
    w1 = second["weights"][name].float()
    e1 = second["extra"]["ema_weights"][name].float()
    expected = 0.9 * e0 + 0.1 * w1  # one more step of the average, not a fresh copy
    assert (e1 - expected).abs().max() < 0.02 * expected.abs().max()
    assert (e1 - w1).abs().max() > 0.1 * (e0 - w1).abs().max()


def test_checkpoint_round_trip_and_errors(tmp_path):
    cfg = ModelConfig(arch="alphago", filters=8, depth=3, feature_set="alphago")
    model = build_model(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.rand(1, 48, 19, 19))[0].sum().backward()
    opt.step()
    path = tmp_path / "m.pt"
    checkpoint.save(path, model, opt, step=12, extra={"note": "x"})
    loaded, state = checkpoint.load_model(path)
    assert loaded.cfg == cfg and state["step"] == 12 and state["feature_set"] == "alphago"
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k
    torch.load(path, weights_only=True)  # no arbitrary pickles inside
    state = torch.load(path, weights_only=True)  # flip one weight, keep the old checksum
    name = next(iter(state["weights"]))
    state["weights"][name].view(-1)[0] += 1.0
    torch.save(state, tmp_path / "tampered.pt")
    with pytest.raises(checkpoint.CheckpointError, match="checksum"):
        checkpoint.load_model(tmp_path / "tampered.pt")
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])  # a write cut short
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load_model(tmp_path / "cut.pt")
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load_model(tmp_path / "bad.pt")
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load_model(tmp_path / "missing.pt")
    assert not list(tmp_path.glob("*.tmp"))


def test_torchrun_ddp_on_cpu(shards, tmp_path):
    """Two ranks with the gloo backend: the same script DDP uses on GPUs."""
    import subprocess
    import sys
    from pathlib import Path

    out, _ = shards
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--standalone", str(root / "scripts" / "train_sl.py"), "--shards", str(out),
           "--run-dir", str(tmp_path / "ddp"), "--device", "cpu", "--filters", "8",
           "--depth", "1", "--batch-size", "16", "--total-steps", "8", "--eval-every", "4",
           "--eval-positions", "64", "--checkpoint-every", "4", "--workers", "0",
           "--threads", "1", "--quiet"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[:2500]  # the ranks' own errors, before torchrun's
    assert checkpoint.load_state(tmp_path / "ddp" / "last.pt")["step"] == 8
    assert (tmp_path / "ddp" / "log.csv").read_text().count("\n") == 3


def test_campaign_resumes_after_kill_with_step_and_schedule(shards, tmp_path):
    """SIGKILL mid-run, then the same command: the step count, the optimizer, the weight
    average, the data order and the learning-rate schedule go on where they were."""
    import csv
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from alphago.config import TrainConfig

    out, _ = shards
    root = Path(__file__).resolve().parents[1]
    torch.manual_seed(0)
    checkpoint.save(tmp_path / "init.pt", build_model(ModelConfig(filters=8, depth=1)))
    run, state = tmp_path / "run", tmp_path / "state" / "state.pt"
    cmd = [sys.executable, str(root / "scripts" / "campaign.py"), "--run-dir", str(run),
           "--state", str(state), "--shards", str(out), "--init-from", str(tmp_path / "init.pt"),
           "--batch-size", "16", "--checkpoint-every", "10",
           "--eval-every", "20", "--eval-positions", "64", "--warmup-steps", "400",
           "--lr", "0.05", "--workers", "0", "--nice", "0", "--bf16", "off", "--quiet"]
    proc = subprocess.Popen(cmd + ["--hours", "1", "--data-offset", "7"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 240
    killed_at = None
    while time.time() < deadline and proc.poll() is None:
        if (run / "last.pt").exists():
            try:
                killed_at = checkpoint.load_state(run / "last.pt")["step"]
            except checkpoint.CheckpointError:
                killed_at = None
            if killed_at and killed_at >= 30:
                os.killpg(proc.pid, signal.SIGKILL)
                break
        time.sleep(0.2)
    proc.wait()
    assert killed_at and killed_at >= 30, proc.stderr.read().decode()[-2000:]
    assert not state.exists()  # killed: only the run directory's checkpoint is there
    killed_at = checkpoint.load_state(run / "last.pt")["step"]
    before = checkpoint.load_state(run / "last.pt")
    assert before["optimizer"] is not None and "ema_weights" in before["extra"]
    res = subprocess.run(cmd + ["--hours", "1", "--max-steps", "25"], capture_output=True,
                         text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    after = checkpoint.load_state(state)
    assert after["step"] == killed_at + 25
    assert after["model_config"]["heads"] == "both" and after["model_config"]["filters"] == 8
    assert after["extra"]["train_config"]["data_offset"] == 7  # from the state, not a flag
    assert after["extra"]["active_s"] > before["extra"]["active_s"]
    cfg = TrainConfig(**after["extra"]["train_config"])
    with (run / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(set(steps)) and steps[0] == 20  # nothing restarted from step 0
    for r in rows:  # the warmup (400 steps) is still running: the rate is the schedule's
        assert float(r["lr"]) == pytest.approx(learning_rate(cfg, int(r["step"]) - 1))
    assert any(int(r["step"]) > killed_at for r in rows)
    status = subprocess.run(cmd[:2] + ["--status", "--run-dir", str(run), "--state",
                                       str(state)], capture_output=True, text=True, timeout=60)
    assert json.loads(status.stdout)["step"] == after["step"]
    # a candidate: the decay runs on a branch, the campaign's state stays where it was
    cand = tmp_path / "cand"
    res = subprocess.run(cmd + ["--hours", "1", "--decay", "20", "--candidate-dir", str(cand)],
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    branch = checkpoint.load_state(cand / "last.pt")
    assert branch["step"] == after["step"] + 20 and (cand / "best.pt").exists()
    assert branch["extra"]["train_config"]["decay_steps"] == 20
    assert checkpoint.load_state(state)["step"] == after["step"]
    with (cand / "log.csv").open() as f:
        last_row = list(csv.DictReader(f))[-1]
    assert float(last_row["lr"]) < 0.05 * 0.1


def test_resumed_campaign_keeps_the_recipe_of_its_state(tmp_path):
    """A campaign resumed without --lr goes on at the rate its state was trained at (not the
    campaign's default); another --batch-size scales that rate; flags still win."""
    import dataclasses

    from alphago.cli import campaign

    recipe = dataclasses.replace(campaign.CAMPAIGN_TRAIN, lr=0.005, value_batch=32,
                                 momentum=0.8, data_offset=19_000, workers=12,
                                 total_steps=123, decay_steps=45, kl_weight=0.5,
                                 kl_anchor="teacher.pt")
    checkpoint.save(tmp_path / "state.pt", build_model(ModelConfig(filters=8, depth=1)),
                    step=8201, extra={"train_config": dataclasses.asdict(recipe)})
    ap = campaign.build_parser()

    def cfg(*argv, src=tmp_path / "state.pt"):
        return campaign.train_config(ap.parse_args(list(argv)), src)

    plain = cfg()
    assert (plain.lr, plain.batch_size, plain.value_batch, plain.momentum) == (0.005, 256, 32, 0.8)
    assert plain.data_offset == 19_000
    assert (plain.kl_weight, plain.kl_anchor) == (0.5, "teacher.pt")  # a teacher stays
    other = cfg("--kl-anchor", "big.pt", "--kl-weight", "1", "--reinforce", "off")
    assert (other.kl_anchor, other.kl_weight, other.reinforce) == ("big.pt", 1.0, False)
    assert cfg("--reinforce", "on").reinforce is True
    with pytest.raises(SystemExit):
        ap.parse_args(["--reinforce", "maybe"])
    # one machine's or one run's settings are not carried over
    assert plain.workers == campaign.CAMPAIGN_TRAIN.workers
    assert (plain.total_steps, plain.decay_steps) == (campaign.CAMPAIGN_TRAIN.total_steps, 0)
    assert cfg("--batch-size", "1024").lr == pytest.approx(0.02)
    assert cfg("--batch-size", "1024", "--lr", "0.01").lr == 0.01
    assert cfg("--lr", "0.02").lr == 0.02
    # a new campaign: the campaign's own recipe, scaled the same way
    assert cfg(src=None).lr == campaign.CAMPAIGN_TRAIN.lr
    assert cfg("--batch-size", "1024", src=None).lr == pytest.approx(0.08)


def test_parallel_prepare_equals_one_process(shards, tmp_path):
    from conftest import TEST_DATA

    one, summary_one = shards
    summary = dataset.prepare_parallel([TEST_DATA], tmp_path, sgf.GameFilter(min_moves=10), 2,
                                       val_fraction=0.3, shard_size=150)
    assert summary["games"] == summary_one["games"]
    assert summary["positions"] == summary_one["positions"]
    assert json.loads((tmp_path / "summary.json").read_text())["parts"] == 2
    for split in ("train", "val"):
        a = dataset.PositionShards(one, split, "basic", augment=False)
        b = dataset.PositionShards(tmp_path, split, "basic", augment=False)
        key = lambda d: sorted(map(tuple, np.c_[d.data["move"], d.data["to_move"]]))  # noqa
        assert key(a) == key(b)
        assert len(set(b.data["game"])) == summary["games"][split]  # ids stay unique


def test_value_only_rows_from_a_second_shard_set(shards, tmp_path):
    """Self-play positions join each batch for the value head only: the policy loss is
    the same with or without them, and their held-out split is scored."""
    import csv

    from alphago.train import _BatchStream, _losses

    out, _ = shards
    pro = dataset.PositionShards(out, "train", "basic")
    sp = dataset.PositionShards(out, "train", "basic", per_game=4)
    stream = _BatchStream(pro, 16, 0, 0, 1, 0, sp, 8)
    planes, moves, outcomes = next(iter(stream))
    assert planes.shape[0] == 24 and (moves[16:] == -100).all() and (moves[:16] >= 0).all()
    torch.manual_seed(0)
    mcfg = ModelConfig(filters=8, depth=1, heads="both", value_hidden=16)
    model = build_model(mcfg).eval()
    x = planes.float()
    loss_all, parts_all = _losses(model, x, moves, outcomes, mcfg, 1.0)
    _, parts_pro = _losses(model, x[:16], moves[:16], outcomes[:16], mcfg, 0.0)
    assert parts_all["policy_loss"].item() == pytest.approx(parts_pro["policy_loss"].item(),
                                                            rel=1e-4)
    tcfg = TrainConfig(batch_size=16, total_steps=20, eval_every=10, eval_positions=64,
                       workers=0, value_batch=8, value_positions_per_game=4)
    train(str(out), str(tmp_path / "run"), mcfg, tcfg, "cpu", progress=False,
          value_shards=[str(out)])
    with (tmp_path / "run" / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and float(rows[-1]["val_sp_value_mse"]) > 0


def test_campaign_stopped_with_its_loader_workers_still_checkpoints(shards, tmp_path):
    """SIGTERM to the whole process group (``pkill -f``, a session's end) reaches the loader
    worker too: the campaign still checkpoints, copies its state and leaves no worker."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from conftest import children_of, process_alive

    out, _ = shards
    root = Path(__file__).resolve().parents[1]
    run, state = tmp_path / "run", tmp_path / "state.pt"
    cmd = [sys.executable, str(root / "scripts" / "campaign.py"), "--run-dir", str(run),
           "--state", str(state), "--shards", str(out), "--init-from", "none",
           "--filters", "8", "--depth", "1", "--batch-size", "16", "--checkpoint-every", "5",
           "--eval-every", "1000", "--eval-positions", "32", "--workers", "1",
           "--nice", "0", "--bf16", "off", "--quiet", "--hours", "1", "--data-offset", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline, seen, workers = time.time() + 240, None, []
    while time.time() < deadline and proc.poll() is None:
        try:
            seen = checkpoint.load_state(run / "last.pt")["step"]
        except (FileNotFoundError, checkpoint.CheckpointError):
            seen = None
        workers = children_of(proc.pid)
        if seen and seen >= 10 and workers:
            os.killpg(proc.pid, signal.SIGTERM)
            break
        time.sleep(0.2)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert seen and seen >= 10 and workers, err.decode()[-2000:]
    assert proc.returncode == 0, err.decode()[-2000:]
    saved = checkpoint.load_state(state)  # stopped by the signal: the state was copied
    assert saved["step"] >= seen and saved["optimizer"] is not None
    assert saved["step"] == checkpoint.load_state(run / "last.pt")["step"]
    assert not [p for p in workers if process_alive(p)], "a loader worker survived"


def test_campaign_of_another_architecture_starts_a_fresh_net(shards, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    out, _ = shards
    root = Path(__file__).resolve().parents[1]
    state = tmp_path / "state_2x8.pt"
    cmd = [sys.executable, str(root / "scripts" / "campaign.py"), "--run-dir",
           str(tmp_path / "run"), "--state", str(state), "--shards", str(out),
           "--batch-size", "16", "--eval-every", "4", "--eval-positions", "32",
           "--workers", "0", "--nice", "0", "--bf16", "off", "--quiet", "--max-steps", "4"]
    res = subprocess.run(cmd + ["--init-from", "none", "--filters", "8", "--depth", "2",
                                "--data-offset", "0"], capture_output=True, text=True,
                         timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    saved = checkpoint.load_state(state)
    assert saved["step"] == 4 and saved["model_config"]["filters"] == 8
    assert saved["model_config"]["depth"] == 2 and saved["model_config"]["heads"] == "both"
    # the weight average, as a model file any tool loads
    avg = subprocess.run(cmd[:2] + ["--run-dir", str(tmp_path / "run"), "--state", str(state),
                                    "--export-average", str(tmp_path / "avg.pt")],
                         capture_output=True, text=True, timeout=240)
    assert avg.returncode == 0, avg.stderr[-2000:]
    net, _ = checkpoint.load_model(tmp_path / "avg.pt")
    expect = checkpoint.load_state(state)["extra"]["ema_weights"]
    got = net.state_dict()
    assert all(torch.equal(got[k].to(v.dtype), v) for k, v in expect.items())
    trained = checkpoint.load_state(state)["weights"]
    assert any(not torch.equal(got[k], trained[k]) for k in trained)
    # sizes grow the --init-from net; a smaller one is refused with a message, not a crash
    bad = subprocess.run(cmd[:2] + ["--run-dir", str(tmp_path / "r2"), "--state",
                                    str(tmp_path / "s2.pt"), "--shards", str(out),
                                    "--init-from", str(state), "--filters", "4", "--quiet",
                                    "--max-steps", "1"],
                         capture_output=True, text=True, timeout=240)
    assert bad.returncode == 2 and "cannot shrink" in bad.stderr
    bad = subprocess.run(cmd[:2] + ["--run-dir", str(tmp_path / "r3"), "--state",
                                    str(tmp_path / "s3.pt"), "--shards", str(out),
                                    "--init-from", str(state), "--feature-set", "alphago",
                                    "--quiet", "--max-steps", "1"],
                         capture_output=True, text=True, timeout=240)
    assert bad.returncode == 2 and "--init-from none" in bad.stderr


def test_campaign_grows_a_net_and_starts_where_it_was(shards, tmp_path):
    """--init-from a small net with a larger --filters/--depth: the new campaign's net is the
    larger one, and before its first step it plays the small net's moves."""
    import subprocess
    import sys
    from pathlib import Path

    from alphago.train import _init_model

    out, _ = shards
    root = Path(__file__).resolve().parents[1]
    torch.manual_seed(0)
    small = tmp_path / "small.pt"
    checkpoint.save(small, build_model(ModelConfig(filters=8, depth=1, heads="both")))
    grown, cfg = _init_model(str(small), ModelConfig(filters=12, depth=3, heads="both"))
    assert (cfg.filters, cfg.depth) == (12, 3)
    x = torch.rand(5, 16, 19, 19)
    ref, _ = checkpoint.load_model(small)
    with torch.no_grad():
        a, b = ref(x), grown.eval()(x)
    assert torch.equal(a[0].argmax(1), b[0].argmax(1))
    assert torch.allclose(a[1], b[1], atol=0.02)
    state = tmp_path / "state.pt"
    res = subprocess.run([sys.executable, str(root / "scripts" / "campaign.py"), "--run-dir",
                          str(tmp_path / "run"), "--state", str(state), "--shards", str(out),
                          "--init-from", str(small), "--filters", "12", "--depth", "3",
                          "--data-offset", "0", "--batch-size", "16", "--eval-every", "4",
                          "--eval-positions", "32", "--workers", "0", "--nice", "0",
                          "--bf16", "off", "--quiet", "--max-steps", "4"],
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    saved = checkpoint.load_state(state)
    assert saved["step"] == 4
    assert (saved["model_config"]["filters"], saved["model_config"]["depth"]) == (12, 3)
    # momentum and weight average are stored compact and come back as float32
    assert all(t.dtype == torch.bfloat16 for t in saved["extra"]["ema_weights"].values()
               if t.is_floating_point())


def test_grown_net_computes_what_the_small_one_did():
    """model.grow: exact with silent new channels (eval mode, batch-norm statistics set),
    within a small margin with the default; new blocks are identities; sizes only grow."""
    from alphago.model import count_parameters, grow

    torch.manual_seed(1)
    small = build_model(ModelConfig(filters=16, depth=2, heads="both", board_size=9))
    for m in small.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    small.eval()
    x = torch.rand(6, 16, 9, 9)
    with torch.no_grad():
        ref = small(x)
        exact = grow(small, 24, 4, new_gamma=0.0).eval()(x)
        near = grow(small, 24, 4).eval()(x)
    assert torch.allclose(ref[0], exact[0], atol=1e-5) and torch.allclose(ref[1], exact[1],
                                                                          atol=1e-5)
    assert (ref[0] - near[0]).abs().max() < 0.05 and (ref[1] - near[1]).abs().max() < 0.05
    big = grow(small, 24, 4)
    assert (big.cfg.filters, big.cfg.depth) == (24, 4)
    assert count_parameters(big) > count_parameters(small)
    assert all(not b.b2.weight.detach().any() for b in list(big.trunk)[3:])
    with pytest.raises(ValueError, match="shrink"):
        grow(small, 8, 2)


def test_kl_anchor_holds_the_policy_near_its_start(shards, tmp_path):
    """kl_weight * KL(anchor || policy) joins the loss: zero when the policy is the anchor,
    the exact divergence otherwise, and a run with it ends nearer its start."""
    import torch.nn.functional as F

    from alphago.train import _losses

    out, _ = shards
    torch.manual_seed(3)
    mcfg = ModelConfig(filters=8, depth=1)
    start = build_model(mcfg).eval()
    checkpoint.save(tmp_path / "start.pt", start, None, 0, {})
    val = dataset.PositionShards(out, "val", "basic", augment=False)
    x = torch.from_numpy(val.batch(np.arange(min(64, len(val))))[0]).float()
    moves = torch.zeros(len(x), dtype=torch.long)
    z = torch.ones(len(x))
    ref = start(x)[0].detach()
    plain, _ = _losses(start, x, moves, z, mcfg, 1.0)
    same, parts = _losses(start, x, moves, z, mcfg, 1.0, anchor=ref, kl_weight=2.0)
    assert parts["kl"].item() == pytest.approx(0.0, abs=1e-5)
    assert same.item() == pytest.approx(plain.item(), rel=1e-5)
    other = torch.randn_like(ref)
    _, parts = _losses(start, x, moves, z, mcfg, 1.0, anchor=other, kl_weight=2.0)
    p = F.softmax(other, 1)
    expect = (p * (F.log_softmax(other, 1) - F.log_softmax(ref, 1))).sum(1).mean()
    assert parts["kl"].item() == pytest.approx(expect.item(), rel=1e-4)

    def kl_after(weight):
        tcfg = TrainConfig(batch_size=32, lr=0.3, momentum=0.0, warmup_steps=0,
                           total_steps=40, eval_every=40, eval_positions=64, workers=0,
                           seed=1, kl_weight=weight, kl_anchor=str(tmp_path / "start.pt"))
        run = tmp_path / f"kl{weight}"
        train(str(out), str(run), mcfg, tcfg, "cpu", init_from=str(tmp_path / "start.pt"),
              progress=False)
        trained, _ = checkpoint.load_model(run / "last.pt")
        with torch.no_grad():
            _, parts = _losses(trained, x, moves, z, mcfg, 1.0, anchor=ref, kl_weight=1.0)
        return parts["kl"].item()

    free, held = kl_after(0.0), kl_after(5.0)
    assert held < 0.5 * free
    bad = TrainConfig(total_steps=1, workers=0, kl_weight=1.0)
    with pytest.raises(ValueError, match="kl_anchor"):
        train(str(out), str(tmp_path / "bad"), mcfg, bad, "cpu", progress=False)
    small = build_model(ModelConfig(board_size=9, filters=8, depth=1))
    checkpoint.save(tmp_path / "nine.pt", small, None, 0, {})
    bad = TrainConfig(total_steps=1, workers=0, kl_weight=1.0, kl_anchor=str(tmp_path / "nine.pt"))
    with pytest.raises(ValueError, match="board size"):
        train(str(out), str(tmp_path / "bad2"), mcfg, bad, "cpu", progress=False)


def test_log_keeps_its_columns_when_a_resumed_run_logs_other_ones(tmp_path):
    import csv

    from alphago.train_eval import _csv_append, forget_log_after

    log = tmp_path / "log.csv"
    _csv_append(log, {"step": 1, "train_kl": 0.5, "val_top1": 0.4})
    _csv_append(log, {"step": 2, "val_top1": 0.41})  # the teacher dropped: no kl
    _csv_append(log, {"step": 3, "val_top1": 0.42, "val_sp_value_mse": 0.7})  # a new column
    rows = list(csv.DictReader(log.open()))
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert [r["val_top1"] for r in rows] == ["0.4", "0.41", "0.42"]
    assert [r["train_kl"] for r in rows] == ["0.5", "", ""]
    assert [r["val_sp_value_mse"] for r in rows] == ["", "", "0.7"]
    forget_log_after(log, 2)
    rows = list(csv.DictReader(log.open()))
    assert [r["step"] for r in rows] == ["1", "2"] and rows[1]["val_top1"] == "0.41"
    assert not log.with_suffix(".tmp").exists()


def test_training_only_the_value_head_keeps_the_policy_exactly(shards, tmp_path):
    """train_only=value_head refits the value head: every other weight and batch-norm
    statistic stays as loaded, so the policy's outputs do not change; the value's do."""
    out, _ = shards
    torch.manual_seed(5)
    mcfg = ModelConfig(filters=8, depth=1, heads="both", value_hidden=16)
    start = build_model(mcfg).eval()
    checkpoint.save(tmp_path / "start.pt", start, None, 0, {})
    tcfg = TrainConfig(batch_size=16, lr=0.1, warmup_steps=0, total_steps=12, eval_every=6,
                       eval_positions=64, workers=0, train_only="value_head")
    train(str(out), str(tmp_path / "run"), mcfg, tcfg, "cpu",
          init_from=str(tmp_path / "start.pt"), progress=False)
    trained, _ = checkpoint.load_model(tmp_path / "run" / "last.pt")
    before, after = start.state_dict(), trained.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("value_") for k in changed)
    assert any(k.startswith("value_fc") for k in changed)
    val = dataset.PositionShards(out, "val", "basic", augment=False)
    x = torch.from_numpy(val.batch(np.arange(min(32, len(val))))[0]).float()
    with torch.no_grad():
        (p0, v0), (p1, v1) = start(x), trained.eval()(x)
    assert torch.equal(p0, p1) and not torch.allclose(v0, v1)
    with pytest.raises(ValueError, match="train_only"):
        TrainConfig(train_only="trunk")
    policy_only = build_model(ModelConfig(filters=8, depth=1))
    checkpoint.save(tmp_path / "policy.pt", policy_only, None, 0, {})
    with pytest.raises(ValueError, match="value head"):
        train(str(out), str(tmp_path / "bad"), None, TrainConfig(total_steps=1, workers=0,
              train_only="value_head"), "cpu", init_from=str(tmp_path / "policy.pt"),
              progress=False)


def test_average_of_nets_weights_and_its_errors(tmp_path, capsys):
    """alphago-average: each float weight and statistic is the shares' weighted sum; a
    wrong share list, one net or another architecture is a clear error (exit 2)."""
    from alphago.cli.average import main

    torch.manual_seed(7)
    cfg = ModelConfig(filters=8, depth=1, heads="both", value_hidden=16)
    nets = [build_model(cfg) for _ in range(2)]
    for i, net in enumerate(nets):
        checkpoint.save(tmp_path / f"n{i}.pt", net, None, 0, {})
    paths = [str(tmp_path / "n0.pt"), str(tmp_path / "n1.pt")]
    assert main(paths + ["--shares", "0.25", "0.75", "--out", str(tmp_path / "avg.pt")]) == 0
    avg, _ = checkpoint.load_model(tmp_path / "avg.pt")
    a, b, m = nets[0].state_dict(), nets[1].state_dict(), avg.state_dict()
    for k in m:
        if m[k].is_floating_point():
            assert torch.allclose(m[k], 0.25 * a[k] + 0.75 * b[k], atol=1e-6), k
    other = build_model(ModelConfig(filters=16, depth=1, heads="both", value_hidden=16))
    checkpoint.save(tmp_path / "wide.pt", other, None, 0, {})
    out = str(tmp_path / "bad.pt")
    for argv, msg in [(paths + ["--shares", "0.5", "0.6"], "sum to 1"),
                      (paths + ["--shares", "1.0"], "shares for"),
                      (paths[:1], "at least two"),
                      ([paths[0], str(tmp_path / "wide.pt")], "another architecture"),
                      ([paths[0], str(tmp_path / "missing.pt")], "not found")]:
        assert main(argv + ["--out", out]) == 2
        assert msg in capsys.readouterr().err
    assert not (tmp_path / "bad.pt").exists()


def test_active_time_counts_every_step_of_a_slow_run(shards, tmp_path, monkeypatch):
    """Steps of 100 s each (a big net on a busy CPU), checkpoints 4 steps apart: every
    step is training time, none of it a pause, whether or not a time budget is set."""
    import alphago.train as train_mod

    out, _ = shards
    now = [1000.0]
    real_step = train_mod._step

    def slow_step(*args, **kwargs):
        now[0] += 100.0
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_mod.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(train_mod, "_step", slow_step)
    tcfg = TrainConfig(batch_size=16, lr=0.01, warmup_steps=0, total_steps=8, eval_every=8,
                       eval_positions=50, checkpoint_every=4, workers=0, seed=5)
    res = train(str(out), str(tmp_path / "run"), ModelConfig(filters=8, depth=1), tcfg,
                "cpu", progress=False)
    assert res.step == 8 and res.active_seconds == pytest.approx(800.0)
    row = (tmp_path / "run" / "log.csv").read_text().splitlines()
    rate = float(dict(zip(row[0].split(","), row[-1].split(",")))["samples_per_s"])
    assert rate == pytest.approx(16 * 8 / 800.0, abs=0.05)  # logged to 0.1
