"""Networks built from a ModelConfig. Fully convolutional: any board size.

Outputs ``(policy_logits [B, n*n+1], value [B] in (-1, 1) or None)``. The pass
logit comes from pooled trunk features; the per-point policy bias of the paper
applies on the configured board size (other sizes use none).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn import functional as F

from alphago.config import ModelConfig
from alphago.features import get_feature_set


def _conv(cin: int, cout: int, k: int, bn: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.c1 = nn.Conv2d(k, k, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(k)
        self.c2 = nn.Conv2d(k, k, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(k)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)), inplace=True)
        return F.relu(x + self.b2(self.c2(y)), inplace=True)


class GoNet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        cin = get_feature_set(cfg.feature_set).planes
        k = cfg.filters
        if cfg.arch == "alphago":
            trunk = [_conv(cin, k, 5, cfg.batch_norm)]
            trunk += [_conv(k, k, 3, cfg.batch_norm) for _ in range(cfg.depth - 2)]
        else:
            trunk = [_conv(cin, k, 3, True)] + [ResBlock(k) for _ in range(cfg.depth)]
        self.trunk = nn.Sequential(*trunk)
        n2 = cfg.board_size * cfg.board_size
        if cfg.heads in ("policy", "both"):
            self.policy_conv = nn.Conv2d(k, 1, 1, bias=False)
            self.point_bias = nn.Parameter(torch.zeros(n2))
            self.pass_fc = nn.Linear(2 * k, 1)
        if cfg.heads in ("value", "both"):
            self.value_conv = _conv(k, k // 2, 1, cfg.batch_norm)
            self.value_fc1 = nn.Linear(k, cfg.value_hidden)
            self.value_fc2 = nn.Linear(cfg.value_hidden, 1)

    @staticmethod
    def _pool(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)

    def forward(self, planes: torch.Tensor):
        x = self.trunk(planes)
        b, _, h, w = x.shape
        logits = value = None
        if self.cfg.heads in ("policy", "both"):
            pts = self.policy_conv(x).reshape(b, h * w)
            if h == self.cfg.board_size and w == self.cfg.board_size:
                pts = pts + self.point_bias
            logits = torch.cat([pts, self.pass_fc(self._pool(x))], dim=1)
        if self.cfg.heads in ("value", "both"):
            v = self._pool(self.value_conv(x))
            value = torch.tanh(self.value_fc2(F.relu(self.value_fc1(v)))).squeeze(1)
        return logits, value


def build_model(cfg: ModelConfig) -> GoNet:
    return GoNet(cfg)


def with_heads(model: GoNet, heads: str) -> GoNet:
    """A net of the same trunk with ``heads``, holding every weight of ``model`` it has a
    place for (heads it adds start fresh, heads it drops are left behind)."""
    net = GoNet(dataclasses.replace(model.cfg, heads=heads))
    net.load_state_dict(model.state_dict(), strict=False)
    return net.train(model.training)


def split_heads(model: GoNet) -> tuple[GoNet, GoNet]:
    """A dual net (``heads="both"``) as AlphaGo's pair: a policy net and a value net, each
    with its own copy of the shared trunk; together they compute what the dual net does."""
    if model.cfg.heads != "both":
        raise ValueError(f"split_heads needs a net with both heads, not {model.cfg.heads!r}")
    return with_heads(model, "policy"), with_heads(model, "value")


def grow(model: GoNet, filters: int, depth: int, new_gamma: float = 0.01) -> GoNet:
    """A wider and/or deeper residual net that computes (almost) what ``model`` does, to go on
    training with more capacity instead of starting over (Net2Net's aim, zero-init style).

    Every weight of ``model`` keeps its place; the added channels start with batch-norm scale
    ``new_gamma`` and shift 0, so they carry (almost) nothing until training grows them (0
    would make them exactly silent, and dead: a ReLU passes no gradient at 0); the added
    blocks go after the old ones with their last batch-norm at 0, so each starts as the
    identity. Exact (eval mode) with ``new_gamma=0``."""
    old = model.cfg
    if old.arch != "resnet":
        raise ValueError(f"only residual nets grow, not arch {old.arch!r}")
    if filters < old.filters or depth < old.depth:
        raise ValueError(f"a net grows, it does not shrink: {old.depth}x{old.filters} -> "
                         f"{depth}x{filters}")
    net = GoNet(dataclasses.replace(old, filters=filters, depth=depth)).train(model.training)
    src, dst = model.state_dict(), net.state_dict()
    bn = {f"{name}.{p}" for name, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)
          for p in ("weight", "bias")}
    pooled = {"pass_fc.weight", "value_fc1.weight"}  # read [mean, max] of the channels
    with torch.no_grad():
        for name, new in dst.items():
            if name.endswith("num_batches_tracked"):
                new.copy_(src.get(name, new))
                continue
            if name not in src:  # a new block: fresh, but for its last batch norm (below)
                continue
            if name in bn:
                new.fill_(new_gamma if name.endswith(".weight") else 0.0)
            old_t = src[name]
            if name in pooled:
                w0, w = old_t.shape[1] // 2, new.shape[1] // 2
                new[:, :w0] = old_t[:, :w0]
                new[:, w:w + w0] = old_t[:, w0:]
            else:
                new[tuple(slice(0, d) for d in old_t.shape)] = old_t
        for blk in list(net.trunk)[1 + old.depth:]:
            blk.b2.weight.zero_()
            blk.b2.bias.zero_()
    net.load_state_dict(dst)
    return net


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
