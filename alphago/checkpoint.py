"""Checkpoints: {format_version, model_config, feature_set, weights, weights_sha256,
optimizer, step, extra}.

Only tensors and plain containers are stored, so loading works with
``torch.load(weights_only=True)``; the model is rebuilt from the stored config
alone. Writes go to a temporary file, are flushed to disk and renamed into place,
so a killed process leaves the old file or the new one, never half of one; the
SHA-256 of the weights is stored inside and checked on load (files written before
it existed load unchecked).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from alphago.config import ModelConfig, from_dict, to_dict
from alphago.model import GoNet, build_model

FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt or of an unknown format."""


def weights_digest(weights: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, shapes, dtypes and bytes of the tensors, in name order."""
    h = hashlib.sha256()
    for name in sorted(weights):
        t = weights[name].detach().cpu().contiguous()
        h.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save(path: str | os.PathLike, model: GoNet, optimizer: torch.optim.Optimizer | None = None,
         step: int = 0, extra: dict[str, Any] | None = None,
         optimizer_state: dict | None = None) -> None:
    """``optimizer_state``: stored instead of ``optimizer.state_dict()`` (e.g. compacted)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = model.module if hasattr(model, "module") else model
    weights = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    state = {
        "format_version": FORMAT_VERSION,
        "model_config": to_dict(net.cfg),
        "feature_set": net.cfg.feature_set,
        "weights": weights,
        "weights_sha256": weights_digest(weights),
        "optimizer": optimizer_state if optimizer_state is not None else (
            optimizer.state_dict() if optimizer is not None else None),
        "step": int(step),
        "extra": extra or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_state(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise CheckpointError(f"cannot read model file {path}: {exc.__class__.__name__}: "
                              f"{str(exc)[:200]}") from exc
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a checkpoint of format {FORMAT_VERSION}")
    digest = state.get("weights_sha256")
    if digest is not None and weights_digest(state.get("weights", {})) != digest:
        raise CheckpointError(f"{path}: weights do not match their stored checksum (corrupt)")
    return state


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu"
               ) -> tuple[GoNet, dict]:
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    state = load_state(path)
    try:
        cfg = from_dict(ModelConfig, state["model_config"])
        model = build_model(cfg)
        model.load_state_dict(state["weights"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: weights do not match their config: {exc}") from exc
    model.to(device).eval()
    return model, state


def average(paths: list[str | os.PathLike], shares: list[float] | None = None
            ) -> tuple[GoNet, list[float]]:
    """The weighted average of several nets of one config (a "model soup", Wortsman et al.
    2022): every floating-point weight and batch-norm statistic is ``sum(share_i * w_i)``;
    integer buffers (batch-norm counters) come from the first net. Averaging works for nets
    of one training run (e.g. a net and its continuation), whose weights lie in one basin;
    the shares default to equal and must be positive and sum to 1. Returns the averaged net
    and the shares used."""
    if len(paths) < 2:
        raise ValueError("average needs at least two nets")
    shares = [1.0 / len(paths)] * len(paths) if shares is None else [float(s) for s in shares]
    if len(shares) != len(paths):
        raise ValueError(f"{len(shares)} shares for {len(paths)} nets")
    if any(s <= 0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise ValueError(f"shares must be positive and sum to 1, not {shares}")
    loaded = [load_model(p) for p in paths]
    first = loaded[0][0]
    for (net, _), path in zip(loaded[1:], paths[1:]):
        if net.cfg != first.cfg:
            raise ValueError(f"{path}: another architecture than {paths[0]} "
                             f"({net.cfg} against {first.cfg})")
    states = [net.state_dict() for net, _ in loaded]
    mixed = {}
    for name, ref in states[0].items():
        if ref.is_floating_point():
            mixed[name] = sum(s * st[name].double() for s, st in zip(shares, states)).to(ref.dtype)
        else:
            mixed[name] = ref.clone()
    first.load_state_dict(mixed)
    return first, shares
