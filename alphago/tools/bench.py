"""Benchmark bodies for scripts/bench.py. Each returns {figure_name: value}."""

from __future__ import annotations

import copy
import itertools
import os
import statistics
import time
from pathlib import Path

import numpy as np

from alphago import sgf, shipped
from alphago.board import Position
from alphago.kernels import board as kb


def default_sgf_source() -> Path:
    """The pro archive beside the checkout, else the test SGFs."""
    shared = shipped.shared_data() / "pro_games.tar.gz"
    if shared.exists():
        return shared
    return shipped.project_root() / "tests" / "data"


def _median_rate(fn, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        count = fn()
        rates.append(count / (time.perf_counter() - t0))
    return statistics.median(rates)


def _rates_in_turns(runs: dict, rounds: int) -> dict:
    """The median rate of each of ``runs`` (name -> function returning the work it did),
    the runs taking turns round after round, so that their ratios compare the same stretch
    of the machine's time (a VM's speed drifts by 10-20% between minutes)."""
    rates = {key: [] for key in runs}
    for _ in range(rounds):
        for key, run in runs.items():
            rates[key].append(_median_rate(run, 1))
    return {key: statistics.median(r) for key, r in rates.items()}


class CReference:
    """The C light playouts of this run (``tools/c_reference``), built once and shared by
    the benches that time their figures against them; ``error`` says why they are
    missing."""

    def __init__(self):
        self.error: str | None = None
        self._playouts = None

    def playouts(self):
        if self._playouts is None and self.error is None:
            from alphago.tools import c_reference

            try:
                self._playouts = c_reference.CPlayouts(c_reference.build())
            except (c_reference.CReferenceUnavailable, OSError) as e:
                self.error = str(e)
        return self._playouts


def bench_playouts(repeats: int, cref: CReference | None = None, **_) -> dict:
    """Uniform random playouts on 19x19 from the empty board, one core, and the same
    playouts in plain C (``tools/ref_playout.c``, built here with the system compiler),
    timed in alternating rounds so that both see the same machine:
    ``random_playouts_c_ratio`` = numba rate / C rate."""
    from alphago.kernels import rollout as kr

    cref = cref or CReference()
    pos = Position(19)
    kb.seed_rng(1)
    uniform = np.zeros(0, np.float32)
    kr.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob, uniform, 5, 1083, 7.5)
    count = 1000

    def run():
        kr.playout_batch(pos.st, pos.meta, pos.nbr, pos.diag, pos.zob, uniform, count, 1083,
                         7.5)
        return count

    runs = {"ours": run}
    c = cref.playouts()
    if c is not None:
        runs["c"] = lambda: c.run(2 * count)
    rates = _rates_in_turns(runs, repeats)
    rate = rates["ours"]
    out = {"random_playouts_per_s": round(rate, 1)}
    if c is None:
        return {**out, "c_reference_error": cref.error}
    c_rate = rates["c"]
    return {**out, "random_playouts_per_s_c_reference": round(c_rate, 1),
            "random_playouts_c_ratio": round(rate / c_rate, 3)}


def bench_sgf(repeats: int, sgf_source: str, **_) -> dict:
    """Parse and replay real games (first 500 usable games of the source)."""
    blobs = list(itertools.islice(sgf.iter_sgf_bytes(sgf_source), 600))

    def run():
        n = 0
        for name, data in blobs:
            try:
                rec = sgf.parse_sgf(name, data)
                rec.final_position()
                n += 1
            except sgf.BadGame:
                pass
            if n >= 500:
                break
        return n

    run()  # warm the kernels
    return {"sgf_games_per_s": round(_median_rate(run, repeats), 1)}


def _sample_positions(sgf_source: str, count: int):
    """Stored positions from real games, for feature and network benches."""
    from alphago import dataset

    arrays = []
    total = 0
    for rec in sgf.load_games(sgf_source, sgf.GameFilter(validate=False)):
        arrays.append(dataset.game_arrays(rec))
        total += len(arrays[-1].move)
        if total >= count:
            break
    cat = {k: np.concatenate([getattr(a, k) for a in arrays])[:count]
           for k in ("colors", "to_move", "ko", "last", "move")}
    return cat


def bench_features(repeats: int, sgf_source: str, **_) -> dict:
    """Planes per second, one core, from stored real-game positions (random symmetry)."""
    from alphago import features

    pos = _sample_positions(sgf_source, 2000)
    out = {}
    for name, key in (("alphago", "features_positions_per_s"),
                      ("basic", "features_basic_positions_per_s")):
        fs = features.get_feature_set(name)
        syms = np.random.default_rng(0).integers(0, 8, len(pos["move"]))

        def run():
            features.batch_planes(pos["colors"], pos["to_move"], pos["ko"], pos["last"], syms,
                                  19, fs)
            return len(syms)

        run()
        out[key] = round(_median_rate(run, repeats), 1)
    return out


def _shipped_model(model: str | None):
    from alphago import checkpoint
    from alphago.config import ModelConfig
    from alphago.model import build_model

    from alphago import shipped

    path = Path(model) if model else shipped.default_model()
    if path.exists():
        return checkpoint.load_model(path)[0], str(path)
    return build_model(ModelConfig()).eval(), "untrained ModelConfig() (no shipped model)"


def bench_network(repeats: int, model: str | None = None, **_) -> dict:
    """Train steps (bf16 autocast where the CPU has it, and fp32)."""
    import torch

    from alphago.model import build_model

    torch.set_num_threads(os.cpu_count() or 1)
    net, name = _shipped_model(model)
    cfg = net.cfg
    c = net.trunk[0][0].in_channels
    x = torch.rand(128, c, 19, 19).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 362, (128,))
    out = {"network": name}
    for bf16 in (False, True):
        train_net = build_model(cfg).to(memory_format=torch.channels_last).train()
        opt = torch.optim.SGD(train_net.parameters(), lr=0.01, momentum=0.9)

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits, _ = train_net(x)
            loss = torch.nn.functional.cross_entropy(logits.float(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return len(y)

        step()
        key = "train_samples_per_s_bf16" if bf16 else "train_samples_per_s_fp32"
        out[key] = round(_median_rate(step, repeats), 1)
    out["train_samples_per_s"] = max(out["train_samples_per_s_bf16"],
                                     out["train_samples_per_s_fp32"])
    return out


def _model_path(model: str | None) -> str:
    """A checkpoint path for the evaluator factory (the untrained default if none)."""
    import tempfile

    from alphago import checkpoint

    net, name = _shipped_model(model)
    if Path(name).exists():
        return name
    path = Path(tempfile.mkdtemp()) / "untrained.pt"
    checkpoint.save(path, net)
    return str(path)


def _backends(path: str, threads: int) -> dict:
    import torch

    from alphago.evaluator import TorchEvaluator, _cpu_bf16, _onnx_evaluators

    net, _ = _shipped_model(path)
    out = {"torch-fp32": TorchEvaluator(net, "cpu", bf16=False)}
    if _cpu_bf16():
        out["torch-bf16"] = TorchEvaluator(net, "cpu", bf16=True)
    out.update(_onnx_evaluators(path, "auto", threads, out["torch-fp32"]))
    if torch.cuda.is_available():
        # a copy: TorchEvaluator moves its module, and the CPU evaluators keep theirs
        out["cuda-bf16"] = TorchEvaluator(copy.deepcopy(net), "cuda", bf16=True)
    return out


def bench_inference(repeats: int, model: str | None = None, **_) -> dict:
    """Positions/s of every inference backend this machine has, at batch 1 and 16 (and
    256 on CUDA), measured in the same run with the same thread count; torch-fp32 is
    plain torch eager mode, the baseline of ``inference_speedup_batch1``. Then what the
    search gets with ``--threads N`` (N = the cores): N threads each evaluating batches of
    16 on one core with the fastest CPU backend (``nn_evals_per_s_N_search_threads``), and
    the best CPU rate in GFLOP/s (convolutions and linear layers counted) as a fraction of
    a large fp32 matrix product's on the same threads (``nn_fraction_of_fp32_matmul_peak``;
    int8 and bf16 units can exceed 1) and of a large int8 product's in ONNX Runtime
    (``nn_fraction_of_int8_matmul_peak``)."""
    import torch

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    path = _model_path(model)
    backends = _backends(path, threads)
    c = backends["torch-fp32"].feature_set.planes
    table: dict[str, dict[str, float]] = {}
    for name, ev in backends.items():
        sizes = (1, 16, 256) if name.startswith("cuda") else (1, 16)
        for b in sizes:
            planes = (np.random.default_rng(b).random((b, c, 19, 19)) < 0.3).astype(np.uint8)

            def infer(ev=ev, planes=planes, calls=max(1, 64 // b)):
                for _ in range(calls):  # a few milliseconds a sample at least
                    ev.evaluate(planes)
                return calls * planes.shape[0]

            infer()
            table.setdefault(name, {})[str(b)] = round(_median_rate(infer, repeats), 1)
    best1 = max(table, key=lambda k: table[k]["1"])
    cpu_best = max((k for k in table if not k.startswith("cuda")), key=lambda k: table[k]["16"])
    out = {"nn_evals_per_s_by_backend": table,
           "nn_evals_per_s": max(t["16"] for t in table.values()),
           "inference_threads": threads,
           "inference_fastest_batch1": best1,
           "inference_speedup_batch1": round(table[best1]["1"] / table["torch-fp32"]["1"], 2)}
    streams = _search_streams(path, cpu_best, threads, c, repeats)
    if streams is not None:
        out[f"nn_evals_per_s_{threads}_search_threads"] = round(streams, 1)
        out["nn_search_threads_over_one_call"] = round(streams / table[cpu_best]["16"], 2)
    gflop = _gflop_per_position(backends["torch-fp32"].model)
    peak = _matmul_peak_gflops(threads)
    best = max(table[cpu_best]["16"], streams or 0.0)
    out.update({"nn_gflop_per_position": round(gflop, 3),
                "nn_best_cpu_gflops": round(best * gflop, 1),
                "cpu_matmul_gflops_fp32": round(peak, 1),
                "nn_fraction_of_fp32_matmul_peak": round(best * gflop / peak, 3)})
    int8_peak = _int8_matmul_peak_gops(threads)
    if int8_peak is not None:
        out["cpu_matmul_gops_int8"] = round(int8_peak, 1)
        out["nn_fraction_of_int8_matmul_peak"] = round(best * gflop / int8_peak, 3)
    return out


def _int8_matmul_peak_gops(threads: int) -> float | None:
    """Integer ops/s of a large uint8 x int8 matrix product in ONNX Runtime (its int8 GEMM,
    the kernel the int8 network's convolutions run on) on ``threads`` threads; None
    without onnxruntime."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    n = 1024
    rng = np.random.default_rng(0)
    b = numpy_helper.from_array(rng.integers(-128, 128, (n, n), dtype=np.int8), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "int8_gemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])], [b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    a = rng.integers(0, 256, (n, n), dtype=np.uint8)
    sess.run(None, {"a": a})

    def run():
        for _ in range(8):
            sess.run(None, {"a": a})
        return 8 * 2 * n ** 3 / 1e9

    return max(_median_rate(run, 1) for _ in range(5))


def _search_streams(path: str, backend: str, threads: int, channels: int, repeats: int
                    ) -> float | None:
    """Positions/s when ``threads`` search threads each evaluate batches of 16 on one core
    of their own (what ``--threads N`` does), with the backend that was fastest at 16."""
    import threading

    import torch

    from alphago.evaluator import TorchEvaluator, _onnx_evaluators

    if threads < 2:
        return None
    if backend.startswith("onnx"):
        evs = _onnx_evaluators(path, backend, 1, None)
        ev = evs.get(backend)
    else:
        ev = TorchEvaluator(_shipped_model(path)[0], "cpu", bf16=backend == "torch-bf16")
    if ev is None:
        return None
    planes = (np.random.default_rng(16).random((16, channels, 19, 19)) < 0.3).astype(np.uint8)
    calls = 12
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ev.evaluate(planes)

        def stream():
            for _ in range(calls):
                ev.evaluate(planes)

        def run():
            workers = [threading.Thread(target=stream) for _ in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            return threads * calls * 16

        return _median_rate(run, repeats)
    finally:
        torch.set_num_threads(old)


def _gflop_per_position(model) -> float:
    """Multiply-adds of the network's convolutions and linear layers on one 19x19
    position, as GFLOP (2 per multiply-add)."""
    import torch

    macs = []

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            macs.append(out.numel() * k)
        elif isinstance(mod, torch.nn.Linear):
            macs.append(out.numel() * mod.in_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, _input_planes(model), 19, 19))
    finally:
        for h in handles:
            h.remove()
    return 2.0 * sum(macs) / 1e9


def _input_planes(model) -> int:
    from alphago import features

    return features.get_feature_set(model.cfg.feature_set).planes


def _matmul_peak_gflops(threads: int) -> float:
    """fp32 GFLOP/s of a large torch matrix product on ``threads`` threads: the CPU's
    practical fp32 peak, the yardstick the network's rate is stated against."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.randn(1024, 1024)
        b = torch.randn(1024, 1024)
        torch.mm(a, b)

        def run():
            for _ in range(8):
                torch.mm(a, b)
            return 8 * 2 * 1024 ** 3 / 1e9

        return max(_median_rate(run, 1) for _ in range(5))
    finally:
        torch.set_num_threads(old)


def _rollout_weights():
    from alphago.rollout_policy import weights_for

    return weights_for(shipped.default_rollout(shipped.default_model()))


def bench_rollout(repeats: int, **_) -> dict:
    """Playouts of the rollout policy the engine plays with, empty 19x19 board, one core."""
    from alphago.rollout_policy import playout_speed

    w = _rollout_weights()
    runs = [playout_speed(w, count=200, seed=s) for s in range(repeats)]
    return {"rollout_moves_per_s": round(statistics.median(r["rollout_moves_per_s"]
                                                          for r in runs), 1),
            "rollout_playouts_per_s": round(statistics.median(r["rollout_playouts_per_s"]
                                                             for r in runs), 1)}


class _TimedEvaluator:
    """Wraps an evaluator and adds up the seconds spent inside it."""

    def __init__(self, ev):
        from alphago.evaluator import on_one_device

        self.ev = ev
        self.feature_set, self.has_value, self.has_policy = (ev.feature_set, ev.has_value,
                                                             ev.has_policy)
        self.runs_on_gpu = on_one_device(ev)  # the search merges threads' calls as for ev
        self.seconds = 0.0
        self.positions = 0

    def evaluate(self, planes):
        t0 = time.perf_counter()
        out = self.ev.evaluate(planes)
        self.seconds += time.perf_counter() - t0
        self.positions += planes.shape[0]
        return out


def _backend_name(ev) -> str:
    if hasattr(ev, "policy"):  # a policy net and a value net
        return f"{_backend_name(ev.policy)} + {_backend_name(ev.value)}"
    path = getattr(ev, "path", None)
    if path is not None:
        return "onnx-int8" if path.endswith(".int8.onnx") else "onnx"
    return f"torch-{ev.device.type}-{'bf16' if ev.bf16 else 'fp32'}"


def _engine_evaluator(model: str | None, allow_gpu: bool = True):
    """The default engine's evaluator: its net, and the separate value net that goes with
    it by default, on the backend ``--device auto`` picks (without ``allow_gpu``: the
    fastest CPU one)."""
    from alphago import shipped
    from alphago.evaluator import search_evaluator

    path = _model_path(model)
    return search_evaluator(path, shipped.default_value_model(path), "auto", 1, 16,
                            allow_gpu=allow_gpu)


def _search_evaluators(model: str | None):
    """The default engine's evaluator and, when the shipped pair is there, AlphaGo's two
    networks."""
    from alphago import shipped
    from alphago.evaluator import search_evaluator

    engine = _engine_evaluator(model)
    pair = None
    if shipped.POLICY_SL.is_file() and shipped.VALUE_SP.is_file():
        pair = search_evaluator(str(shipped.POLICY_SL), str(shipped.VALUE_SP), "auto", 1, 16)
    return engine, pair


def bench_mcts(repeats: int, model: str | None = None, cref: CReference | None = None,
               **_) -> dict:
    """Search simulations per second from the empty 19x19 board, one search thread
    unless said otherwise, with the backend ``--device auto`` picks (``mcts_backend``),
    and the search's own cost next to the network's (cache off, so every simulation pays
    a network evaluation; ``mcts_search_overhead_pct_*`` = time outside the network over
    time inside it, on the empty board and at move 150 of a pro game).

    ``mcts_nn_sims_per_s`` is the default engine (value net on when it has one, rollouts
    on, lambda 0.5); ``mcts_nn_sims_per_s_threads2`` the same with ``--threads 2`` (two
    search threads, a core each; ``mcts_threads2_speedup`` the ratio);
    ``mcts_nn_sims_per_s_two_networks`` the same search with AlphaGo's pair of shipped
    networks (two forward passes a leaf), and ``mcts_nn_sims_per_s_same_net_split`` with the
    default net itself asked twice a leaf, once for priors and once for the value (what a
    pair of networks of the default's size would cost); ``mcts_rollout_sims_c_ratio`` the
    rollout-only search over the C light playouts/s of the same run. All measured in one
    run."""
    import numba
    import torch

    from alphago.config import SearchConfig
    from alphago.evaluator import PolicyValueEvaluator, UniformEvaluator

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    chosen, pair = _search_evaluators(model)
    w = _rollout_weights()
    out = {"mcts_backend": _backend_name(chosen), "mcts_value_net": chosen.has_value}
    cases = [("mcts_rollout_sims_per_s", UniformEvaluator(), True, 1.0, 1024, 50_000, 1),
             ("mcts_nn_sims_per_s", chosen, True, 0.5, 256, 50_000, 1),
             ("mcts_nn_sims_per_s_threads2", chosen, True, 0.5, 512, 50_000, 2),
             ("mcts_nn_sims_per_s_no_rollouts", chosen, False, 0.0, 1024, 0, 1)]
    if pair is not None:
        cases.insert(2, ("mcts_nn_sims_per_s_two_networks", pair, True, 0.5, 256, 50_000, 1))
    if chosen.has_value and not isinstance(chosen, PolicyValueEvaluator):
        cases.insert(2, ("mcts_nn_sims_per_s_same_net_split", PolicyValueEvaluator(
            chosen, chosen), True, 0.5, 256, 50_000, 1))
    runs, players, overheads = {}, {}, {key: [] for key, *_ in cases}
    for key, ev, rollouts, lam, visits, cache, threads in cases:
        cfg = SearchConfig(visits=visits, batch_size=16, max_nodes=8000, rollouts=rollouts,
                           mix_lambda=lam, nn_cache_size=cache, threads=threads)
        runs[key], players[key] = _search_case(ev, cfg, w, overheads[key])
    # the C reference takes its turns with the cases
    cref = cref or CReference()
    c = cref.playouts()
    if c is not None:
        runs["c_reference"] = lambda: c.run(2000)
    rates = _rates_in_turns(runs, max(2, repeats // 2))
    for key, *_ in cases:
        out[key] = round(rates[key], 1)
    player, timed = players["mcts_nn_sims_per_s_no_rollouts"]
    cfg = player.cfg
    out["mcts_search_overhead_pct_opening"] = round(
        statistics.median(overheads["mcts_nn_sims_per_s_no_rollouts"]), 1)
    mid = _midgame_position()
    out["mcts_search_overhead_pct_midgame"] = round(statistics.median(
        [_timed_search(player, timed, mid, cfg.visits, False)
         for _ in range(max(1, repeats // 2))]), 1)
    out["mcts_threads2_speedup"] = round(out["mcts_nn_sims_per_s_threads2"]
                                         / out["mcts_nn_sims_per_s"], 2)
    for key, name in (("mcts_nn_sims_per_s_two_networks", "mcts_speedup_vs_two_networks"),
                      ("mcts_nn_sims_per_s_same_net_split", "mcts_speedup_vs_same_net_split")):
        if key in out:
            out[name] = round(out["mcts_nn_sims_per_s"] / out[key], 2)
    if c is not None:
        c_rate = rates["c_reference"]
        out["mcts_c_reference_playouts_per_s"] = round(c_rate, 1)
        out["mcts_rollout_sims_c_ratio"] = round(out["mcts_rollout_sims_per_s"] / c_rate, 3)
    else:
        out["c_reference_error"] = cref.error
    return out


def search_thread_counts(cores: int) -> list[int]:
    """The ``--threads`` values the scaling bench compares: 1, 2, 4, ... up to the cores,
    and the core count itself."""
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return counts + [max(1, cores)]


def bench_threads(repeats: int, model: str | None = None, **_) -> dict:
    """The default engine's search (value net and rollouts, lambda 0.5, batch 16) with
    ``--threads N`` for N = 1, 2, 4, ... up to the machine's cores: N search threads on one
    tree, each with a batch in flight and one core for its rollouts (and, on a CPU, its
    network calls), 256 simulations a thread from the empty board. The counts take turns
    round after round; ``mcts_threads_speedup`` is each count's median rate over one
    thread's. Where the backend is a GPU, the threads' calls are merged into one
    (``--nn-coalesce auto``); the same counts are then also run with the calls apart
    (``..._uncoalesced``) and with the fastest CPU backend (``..._cpu``), so one run
    shows what the merging buys and how the search scales on the machine's cores alone."""
    import numba
    import torch

    from alphago.evaluator import on_one_device
    from alphago.procs import available_cores

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    engine = _engine_evaluator(model)  # the pair of networks is not needed here
    counts = search_thread_counts(available_cores())
    out = {"threads_backend": _backend_name(engine)}
    variants = [("", engine, "auto")]
    if on_one_device(engine):
        cpu = _engine_evaluator(model, allow_gpu=False)
        variants += [("_uncoalesced", engine, "off"), ("_cpu", cpu, "auto")]
        out["threads_backend_cpu"] = _backend_name(cpu)
    for suffix, ev, coalesce in variants:
        out.update(_thread_scaling(ev, counts, coalesce, repeats, suffix))
    return out


def _thread_scaling(ev, counts: list[int], coalesce: str, repeats: int, suffix: str) -> dict:
    from alphago.config import SearchConfig

    w = _rollout_weights()
    runs = {}
    for n in counts:
        visits = 256 * n
        cfg = SearchConfig(visits=visits, batch_size=16, max_nodes=max(8000, 2 * visits),
                           rollouts=True, mix_lambda=0.5, nn_cache_size=50_000, threads=n,
                           nn_coalesce=coalesce)
        runs[n], _ = _search_case(ev, cfg, w, [])
    med = _rates_in_turns(runs, max(2, repeats // 2))
    return {f"mcts_threads_sims_per_s{suffix}": {str(n): round(r, 1) for n, r in med.items()},
            f"mcts_threads_speedup{suffix}": {str(n): round(r / med[1], 2)
                                              for n, r in med.items()}}


def _search_case(ev, cfg, weights, overheads: list):
    """A search player of ``cfg`` around ``ev`` (timed), and a function that runs one
    search of ``cfg.visits`` from the empty 19x19 board (fresh tree, cache cleared),
    appends the time outside the network (percent) to ``overheads`` and returns the
    visits. Run once here, to compile and allocate; returns (run, (player, timed))."""
    from alphago.player import MCTSPlayer

    timed = _TimedEvaluator(ev)
    player = MCTSPlayer(timed, cfg, rollout_weights=weights)

    def run():
        overheads.append(_timed_search(player, timed, Position(19), cfg.visits, True))
        return cfg.visits

    run()
    overheads.clear()
    return run, (player, timed)


def _timed_search(player, timed, pos: Position, visits: int, clear_cache: bool) -> float:
    """One search of ``visits`` from a fresh tree (allocated once, as in play); returns the
    time outside the network in percent of the time inside it."""
    timed.seconds = 0.0
    tree = player.tree(pos.size)
    tree.root_moves = None
    if clear_cache:
        tree.cache.clear()
    t0 = time.perf_counter()
    player.search(pos, visits)
    wall = time.perf_counter() - t0
    return 100.0 * (wall - timed.seconds) / max(timed.seconds, 1e-9)


def _midgame_position(moves: int = 150) -> Position:
    """Move 150 of the first long pro game in the SGF source (a seeded random game when
    no archive is there)."""
    src = default_sgf_source()
    gf = sgf.GameFilter(sizes=(19,), min_moves=moves, validate=False)
    for rec in itertools.islice(sgf.load_games(src, gf), 50):
        pos = Position(19)
        try:
            for c, m in rec.moves[:moves]:
                pos.play(m, c)
            return pos
        except Exception:  # an illegal record: try the next
            continue
    pos, rng = Position(19), np.random.default_rng(0)
    while len(pos.moves) < moves:
        legal = np.flatnonzero(pos.legal_moves()[:-1])
        pos.play(int(rng.choice(legal)))
    return pos


def bench_selfplay(repeats: int, model: str | None = None, **_) -> dict:
    """Self-play moves per second on 19x19, CPU, one thread: policy-only (32 games
    batched into one forward pass a move) and with search at 64 visits a move."""
    import numba
    import torch

    from alphago import selfplay
    from alphago.evaluator import make_evaluator

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    ev = make_evaluator(_model_path(model), "auto", threads=1, batch_size=32)

    def policy_only(seed=[0]):
        seed[0] += 1
        cfg = selfplay.SelfPlayConfig(games=32, size=19, max_moves=60, seed=seed[0])
        return sum(len(g.moves) for g in selfplay.play_games(ev, cfg))

    def search(seed=[0]):
        seed[0] += 1
        cfg = selfplay.SelfPlayConfig(games=1, size=19, max_moves=24, seed=seed[0])
        scfg = selfplay.SearchSelfPlayConfig(visits=64, batch_size=16)
        return sum(len(g.moves) for g in selfplay.play_search_games(ev, cfg, scfg))

    policy_only()
    search()
    return {"selfplay_moves_per_s_policy": round(_median_rate(policy_only, repeats), 1),
            "selfplay_moves_per_s_visits64": round(_median_rate(search, max(1, repeats // 2)),
                                                   1),
            "selfplay_backend": _backend_name(ev)}


BENCHES = {
    "playouts": bench_playouts,
    "sgf": bench_sgf,
    "features": bench_features,
    "network": bench_network,
    "inference": bench_inference,
    "rollout": bench_rollout,
    "mcts": bench_mcts,
    "selfplay": bench_selfplay,
    "threads": bench_threads,
}


def run(names, repeats: int = 5, **kwargs) -> dict:
    results = {"cpu_count": os.cpu_count()}
    cref = CReference()
    for name in names:
        results.update(BENCHES[name](repeats=repeats, cref=cref, **kwargs))
    return results
