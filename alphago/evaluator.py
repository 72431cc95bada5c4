"""Evaluators turn planes into (priors, values); the search never imports torch.

``Evaluator.evaluate(planes [B, C, n, n] uint8) -> (priors [B, n*n+1] float32,
values [B] float32)`` with values from the side to move's view in [-1, 1].
``evaluate_positions`` adds what every caller needs: planes from positions
under a symmetry, the inverse symmetry on the priors, and illegal-move masking.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol, Sequence

import numpy as np

from alphago import features, symmetry
from alphago.board import Position

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
        if self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.bf16 = (self.device.type == "cuda") if bf16 is None else bf16
        cfg = model.cfg
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
            x = torch.from_numpy(planes).to(self.device).float()
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                logits, value = self.model(x)
            b, nn1 = planes.shape[0], planes.shape[2] * planes.shape[3] + 1
            if logits is None:
                priors = torch.full((b, nn1), 1.0 / nn1)
            else:
                priors = torch.softmax(logits.float(), dim=1)
            values = torch.zeros(b) if value is None else value.float()
            return priors.cpu().numpy(), values.cpu().numpy()


class NNCache:
    """Evaluations by position key, least recently used dropped past ``max_entries``
    (Leela Zero's NNCache): transpositions and a reused tree are not evaluated twice.
    Entries are (priors in the board's frame, before masking; value)."""

    def __init__(self, max_entries: int = 50_000):
        self.max_entries = max(0, int(max_entries))
        self._d: OrderedDict[int, tuple[np.ndarray, float]] = OrderedDict()
        self.hits = self.lookups = 0

    def __len__(self) -> int:
        return len(self._d)

    def get(self, key: int) -> tuple[np.ndarray, float] | None:
        self.lookups += 1
        hit = self._d.get(key)
        if hit is not None:
            self.hits += 1
            self._d.move_to_end(key)
        return hit

    def put(self, key: int, priors: np.ndarray, value: float) -> None:
        if self.max_entries == 0:
            return
        self._d[key] = (priors, value)
        self._d.move_to_end(key)
        while len(self._d) > self.max_entries:
            self._d.popitem(last=False)

    def clear(self) -> None:
        self._d.clear()


def orient_and_mask(priors: np.ndarray, sym: int, mask: np.ndarray, n: int) -> np.ndarray:
    """A network prior [n*n+1] seen under symmetry ``sym``, back in the board's frame,
    restricted to ``mask`` and renormalised (uniform over the mask if nothing is left)."""
    pr = priors[symmetry.point_map(n)[sym]] * mask  # the net saw point pm[s, p] for board p
    total = pr.sum()
    return pr / total if total > 0 else mask / max(1, mask.sum())


def evaluate_positions(evaluator: Evaluator, positions: Sequence[Position],
                       syms: Sequence[int] | None = None, mask_illegal: bool = True
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Priors (in each position's own orientation, illegal moves zeroed, renormalised)
    and values for positions of one board size."""
    n = positions[0].size
    syms = [0] * len(positions) if syms is None else list(syms)
    planes = np.stack([features.position_planes(p, evaluator.feature_set, s)
                       for p, s in zip(positions, syms)])
    priors, values = evaluator.evaluate(planes)
    out = np.empty_like(priors)
    for i, (pos, s) in enumerate(zip(positions, syms)):
        mask = pos.legal_moves() if mask_illegal else np.ones(n * n + 1, np.float32)
        out[i] = orient_and_mask(priors[i], s, mask, n)
    return out.astype(np.float32), values.astype(np.float32)


def evaluate_ensemble(evaluator: Evaluator, pos: Position) -> tuple[np.ndarray, float]:
    """Average over all 8 symmetries (the paper's explicit ensemble)."""
    priors, values = evaluate_positions(evaluator, [pos] * 8, range(8))
    return priors.mean(0), float(values.mean())
