"""Evaluators turn planes into (priors, values); the search never imports torch.

``Evaluator.evaluate(planes [B, C, n, n] uint8) -> (priors [B, n*n+1] float32,
values [B] float32)`` with values from the side to move's view in [-1, 1].
``evaluate_positions`` adds what every caller needs: planes from positions
under a symmetry, the inverse symmetry on the priors, and illegal-move masking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Protocol, Sequence

import numpy as np

from alphago import features, symmetry
from alphago.board import Position
from alphago.config import NN_COALESCE_MODES

log = logging.getLogger("alphago.evaluator")


class Evaluator(Protocol):
    feature_set: features.FeatureSet
    has_value: bool
    has_policy: bool

    def evaluate(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ...


class UniformEvaluator:
    """No network: flat priors, value 0. For tests, rollout-only search, and start-up."""

    has_value = False
    has_policy = False

    def __init__(self, feature_set: str = "basic"):
        self.feature_set = features.get_feature_set(feature_set)

    def evaluate(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, _, n, _ = planes.shape
        return (np.full((b, n * n + 1), 1.0 / (n * n + 1), np.float32),
                np.zeros(b, np.float32))


class TorchEvaluator:
    """A checkpointed network on CPU or CUDA, evaluated in inference mode, batched."""

    def __init__(self, model, device: str = "cpu", bf16: bool | None = None):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.channels_last = self.device.type == "cuda"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.bf16 = (self.device.type == "cuda") if bf16 is None else bf16
        cfg = model.cfg
        self.board_size = cfg.board_size
        self.feature_set = features.get_feature_set(cfg.feature_set)
        self.has_policy = cfg.heads in ("policy", "both")
        self.has_value = cfg.heads in ("value", "both")

    @classmethod
    def from_checkpoint(cls, path: str, device: str = "cpu", bf16: bool | None = None):
        from alphago import checkpoint

        model, _ = checkpoint.load_model(path, "cpu")
        return cls(model, device, bf16)

    def evaluate(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(planes)
            if self.device.type == "cuda":
                x = x.pin_memory().to(self.device, non_blocking=True)
            x = x.float()
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                logits, value = self.model(x)
            b, nn1 = planes.shape[0], planes.shape[2] * planes.shape[3] + 1
            if logits is None:
                priors = torch.full((b, nn1), 1.0 / nn1)
            else:
                priors = torch.softmax(logits.float(), dim=1)
            values = priors.new_zeros(b) if value is None else value.float()
            both = torch.cat([priors, values[:, None]], dim=1).cpu().numpy()  # one copy back
            return both[:, :-1], both[:, -1]


class NNCache:
    """Evaluations by position key, least recently used dropped past ``max_entries``
    (Leela Zero's NNCache): transpositions and a reused tree are not evaluated twice.
    Entries are (priors in the board's frame, before masking; value). Safe to share
    between search threads."""

    def __init__(self, max_entries: int = 50_000):
        self.max_entries = max(0, int(max_entries))
        self._d: OrderedDict[int, tuple[np.ndarray, float]] = OrderedDict()
        self.hits = self.lookups = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._d)

    def get(self, key: int) -> tuple[np.ndarray, float] | None:
        with self._lock:
            self.lookups += 1
            hit = self._d.get(key)
            if hit is not None:
                self.hits += 1
                self._d.move_to_end(key)
            return hit

    def put(self, key: int, priors: np.ndarray, value: float) -> None:
        if self.max_entries == 0:
            return
        with self._lock:
            self._d[key] = (priors, value)
            self._d.move_to_end(key)
            while len(self._d) > self.max_entries:
                self._d.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


class OnnxEvaluator:
    """An exported network run by ONNX Runtime's CPU provider. Boards of another size
    than the export's go to ``fallback`` (a TorchEvaluator of the same checkpoint)."""

    def __init__(self, onnx_path: str, threads: int = 1, fallback: Evaluator | None = None):
        import onnxruntime as ort

        from alphago.config import ModelConfig, from_dict
        from alphago.onnx_export import read_metadata

        meta = read_metadata(onnx_path)
        cfg = from_dict(ModelConfig, meta["model_config"])
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), so,
                                            providers=["CPUExecutionProvider"])
        self.path = str(onnx_path)
        self.board_size = meta["board_size"]
        self.feature_set = features.get_feature_set(cfg.feature_set)
        self.has_policy = cfg.heads in ("policy", "both")
        self.has_value = cfg.heads in ("value", "both")
        self.fallback = fallback

    def evaluate(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if planes.shape[2] != self.board_size and self.fallback is not None:
            return self.fallback.evaluate(planes)
        priors, values = self.session.run(None, {"planes": planes.astype(np.float32)})
        return priors, values


class PolicyValueEvaluator:
    """AlphaGo's pair: priors from a policy network, values from a separate value network
    (both fed the same planes, so they must share a feature set)."""

    def __init__(self, policy: Evaluator, value: Evaluator):
        if policy.feature_set.name != value.feature_set.name:
            raise ValueError(f"the policy net reads {policy.feature_set.name!r} planes and the "
                             f"value net {value.feature_set.name!r}: they must match")
        if not value.has_value:
            raise ValueError("the value model has no value head")
        self.policy, self.value = policy, value
        self.feature_set = policy.feature_set
        self.has_policy, self.has_value = policy.has_policy, True

    def evaluate(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        priors, _ = self.policy.evaluate(planes)
        _, values = self.value.evaluate(planes)
        return priors, values


class CoalescingEvaluator:
    """Calls made at the same time by several search threads become one call of
    ``inner`` (the batching of KataGo's and Leela Zero's network servers). A thread that
    finds the network idle runs its own batch together with every batch queued while the
    last call ran (up to ``max_positions``); the others wait for their share of the
    results. Nothing waits for a batch to fill, so a lone thread pays nothing. Worth it
    where calls queue for one device anyway (a GPU: one large batch in the time of a
    small one), not where each thread has a CPU core of its own."""

    def __init__(self, inner: Evaluator, max_positions: int = 1024):
        self.inner = inner
        self.feature_set = inner.feature_set
        self.has_policy, self.has_value = inner.has_policy, inner.has_value
        self.max_positions = max(1, int(max_positions))
        self._cv = threading.Condition()
        self._queue: list[_Call] = []
        self._running = False
        self.calls = self.requests = 0  # calls of ``inner``, and the batches they served

    def evaluate(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        call = _Call(planes)
        with self._cv:
            self._queue.append(call)
        while True:
            with self._cv:
                while not call.done and self._running:
                    self._cv.wait()
                if call.done:
                    return call.result()
                self._running = True
                group = self._take()
            try:
                self._run(group)
            finally:
                with self._cv:
                    for c in group:
                        c.done = True
                    self._running = False
                    self._cv.notify_all()

    def _take(self) -> list[_Call]:
        """The queue's oldest batches, as many as fit in ``max_positions`` (at least one)."""
        group, total = [], 0
        while self._queue and (not group or total + len(self._queue[0].planes)
                               <= self.max_positions):
            group.append(self._queue.pop(0))
            total += len(group[-1].planes)
        return group

    def _run(self, group: list[_Call]) -> None:
        planes = group[0].planes if len(group) == 1 else np.concatenate(
            [c.planes for c in group])
        try:
            priors, values = self.inner.evaluate(planes)
        except BaseException as exc:  # every waiting caller raises it
            for c in group:
                c.error = exc
            return
        self.calls += 1
        self.requests += len(group)
        start = 0
        for c in group:
            end = start + len(c.planes)
            c.priors, c.values = priors[start:end], values[start:end]
            start = end


class _Call:
    """One caller's batch in a CoalescingEvaluator, and what came back for it."""

    __slots__ = ("planes", "priors", "values", "error", "done")

    def __init__(self, planes: np.ndarray):
        self.planes = planes
        self.priors = self.values = self.error = None
        self.done = False

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.error is not None:
            raise self.error
        return self.priors, self.values


def on_one_device(ev: Evaluator) -> bool:
    """Whether the evaluator's calls run on a GPU, where calls from several threads queue
    for the one device (the case ``CoalescingEvaluator`` is for)."""
    if isinstance(ev, PolicyValueEvaluator):
        return on_one_device(ev.policy) or on_one_device(ev.value)
    if getattr(ev, "runs_on_gpu", False):  # a wrapper that says so for what it wraps
        return True
    device = getattr(ev, "device", None)
    return getattr(device, "type", None) == "cuda"


def coalesced(ev: Evaluator, threads: int, mode: str = "auto") -> Evaluator:
    """``ev`` as ``threads`` search threads should share it: ``mode`` "on" merges their
    concurrent calls, "off" leaves them apart, "auto" merges them when there are several
    threads and the calls run on a GPU."""
    if mode not in NN_COALESCE_MODES:
        raise ValueError(f"unknown coalescing mode {mode!r} ({', '.join(NN_COALESCE_MODES)})")
    if isinstance(ev, CoalescingEvaluator) or threads < 2 or mode == "off":
        return ev
    if mode == "on" or on_one_device(ev):
        return CoalescingEvaluator(ev)
    return ev


def _time_evaluator(ev: Evaluator, planes: np.ndarray, seconds: float) -> float:
    """Positions per second of one evaluator on these planes (after one warm-up call)."""
    ev.evaluate(planes)
    t0 = time.perf_counter()
    count = 0
    while time.perf_counter() - t0 < seconds:
        ev.evaluate(planes)
        count += planes.shape[0]
    return count / (time.perf_counter() - t0)


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


DEVICES = ("auto", "cpu", "onnx", "onnx-int8", "cuda")


def make_evaluator(model_path: str, device: str = "auto", threads: int = 1,
                   batch_size: int = 8, probe_seconds: float = 0.3,
                   allow_gpu: bool = True) -> Evaluator:
    """The evaluator for a checkpoint on ``device``:

    - ``cuda`` / ``cuda:N``: torch on the GPU, bf16 autocast, channels_last;
    - ``cpu``: torch on the CPU (fp32, or bf16 autocast when the CPU runs bf16 natively
      and that is faster);
    - ``onnx``: ONNX Runtime (export cached beside the checkpoint); torch on the CPU with
      a log line when onnxruntime is not installed;
    - ``onnx-int8``: the same export quantized to int8 (calibrated on the net's own
      games; a little less accurate, see docs/RESULTS.md);
    - ``auto``: CUDA when torch sees one (and ``allow_gpu``), else the fastest CPU
      backend for batches of ``batch_size``, timed for ``probe_seconds`` each at start-up.
    """
    import torch

    from alphago import checkpoint

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device} asked for, but torch sees no CUDA device")
        return TorchEvaluator.from_checkpoint(model_path, device)
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r} ({', '.join(DEVICES)}, cuda:N)")
    if device == "auto" and allow_gpu and torch.cuda.is_available():
        log.info("device auto: CUDA")
        return TorchEvaluator.from_checkpoint(model_path, "cuda")
    model, _ = checkpoint.load_model(model_path, "cpu")
    fp32 = TorchEvaluator(model, "cpu", bf16=False)
    onnx_evs = _onnx_evaluators(model_path, device, threads, fp32)
    if device != "auto":
        return next(iter(onnx_evs.values()), fp32)
    candidates = {"torch-fp32": fp32}
    if _cpu_bf16():
        candidates["torch-bf16"] = TorchEvaluator(model, "cpu", bf16=True)
    candidates.update(onnx_evs)
    if len(candidates) == 1:
        return fp32
    n = model.cfg.board_size
    planes = (np.random.default_rng(0).random(
        (max(1, batch_size), fp32.feature_set.planes, n, n)) < 0.3).astype(np.uint8)
    speeds = {name: _time_evaluator(ev, planes, probe_seconds)
              for name, ev in candidates.items()}
    best = max(speeds, key=speeds.get)
    log.info("device %s: %s (positions/s at batch %d: %s)", device, best, batch_size,
             ", ".join(f"{k} {v:.0f}" for k, v in speeds.items()))
    return candidates[best]


def search_evaluator(model_path: str, value_path: str | None = None, device: str = "auto",
                     threads: int = 1, batch_size: int = 8, allow_gpu: bool = True
                     ) -> Evaluator:
    """What the search evaluates leaves with: the net of ``model_path`` (one forward pass
    gives priors and, for a dual net, values), or AlphaGo's pair when ``value_path`` names
    a separate value network (two forward passes a leaf)."""
    ev = make_evaluator(model_path, device, threads, batch_size, allow_gpu=allow_gpu)
    if value_path:
        ev = PolicyValueEvaluator(ev, make_evaluator(value_path, device, threads, batch_size,
                                                     allow_gpu=allow_gpu))
    return ev


def _onnx_evaluators(model_path: str, device: str, threads: int, fallback: Evaluator
                     ) -> dict[str, Evaluator]:
    """The ONNX backends ``device`` asks for ({} with a log line when unavailable)."""
    wanted = {"onnx": ["onnx"], "onnx-int8": ["onnx-int8"], "auto": ["onnx", "onnx-int8"]}
    names = wanted.get(device, [])
    if not names:
        return {}
    if not onnx_available():  # auto picks among what is installed; a named backend warns
        (log.info if device == "auto" else log.warning)(
            "onnxruntime is not installed (pip install .[onnx]); using torch on the CPU")
        return {}
    from alphago.onnx_export import cached_onnx

    out = {}
    for name in names:
        try:
            path = cached_onnx(model_path, int8=name == "onnx-int8")
            out[name] = OnnxEvaluator(str(path), threads, fallback=fallback)
        except Exception as exc:  # export, quantization or session failure: torch still works
            log.warning("%s backend unavailable (%s: %s); using torch on the CPU", name,
                        exc.__class__.__name__, exc)
    return out


def _cpu_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def orient_and_mask(priors: np.ndarray, sym: int, mask: np.ndarray, n: int) -> np.ndarray:
    """A network prior [n*n+1] seen under symmetry ``sym``, back in the board's frame,
    restricted to ``mask`` and renormalised (uniform over the mask if nothing is left)."""
    pr = symmetry.to_board_frame(priors[None], [sym], n)[0] * mask
    total = pr.sum()
    return pr / total if total > 0 else mask / max(1, mask.sum())


def evaluate_positions(evaluator: Evaluator, positions: Sequence[Position],
                       syms: Sequence[int] | None = None,
                       masks: Sequence[np.ndarray] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Priors and values for positions of one board size, one forward pass: each prior in
    its position's own frame (``syms``: the symmetry each is shown to the net under),
    restricted to its mask (default: the legal moves) and renormalised."""
    n = positions[0].size
    syms = [0] * len(positions) if syms is None else [int(s) for s in syms]
    planes = np.stack([features.position_planes(p, evaluator.feature_set, s)
                       for p, s in zip(positions, syms)])
    priors, values = evaluator.evaluate(planes)
    out = np.empty_like(priors)
    for i, (pos, s) in enumerate(zip(positions, syms)):
        mask = pos.legal_moves() if masks is None else masks[i]
        out[i] = orient_and_mask(priors[i], s, mask, n)
    return out.astype(np.float32), values.astype(np.float32)


def evaluate_ensemble(evaluator: Evaluator, positions: Sequence[Position],
                      masks: Sequence[np.ndarray] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Priors and values averaged over the 8 symmetries of each position (the paper's
    ensemble; one forward pass of 8 planes a position), the priors in the board's frame,
    restricted to each mask (default: the legal moves) and renormalised."""
    n, k = positions[0].size, symmetry.NUM_SYMMETRIES
    syms = np.tile(np.arange(k), len(positions))
    planes = np.stack([features.position_planes(p, evaluator.feature_set, int(s))
                       for p in positions for s in range(k)])
    priors, values = evaluator.evaluate(planes)
    mean = symmetry.to_board_frame(priors, syms, n).reshape(len(positions), k, -1).mean(1)
    out = np.empty_like(mean)
    for i, pos in enumerate(positions):
        mask = pos.legal_moves() if masks is None else masks[i]
        out[i] = orient_and_mask(mean[i], 0, mask, n)
    values = np.asarray(values, np.float32).reshape(len(positions), k).mean(1)
    return out.astype(np.float32), values


def sample_move(weights: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """The index of the largest weight at temperature 0, else one drawn with probability
    proportional to weight ^ (1 / temperature): how policies and visit counts are played."""
    if temperature <= 0:
        return int(np.argmax(weights))
    w = np.asarray(weights, np.float64) ** (1.0 / temperature)
    return int(rng.choice(len(w), p=w / w.sum()))
