"""Supervised training loop (policy and/or value heads) over position shards.

One code path for CPU, one CUDA GPU (bf16 autocast, channels_last) and several
GPUs or machines under ``torchrun`` (DDP; each rank reads its own share of every
shuffled epoch). Checkpoints every N steps and on SIGINT/SIGTERM; ``resume``
continues from ``run_dir/last.pt`` with the same data order.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn import functional as F

from alphago import checkpoint
from alphago.config import ModelConfig, TrainConfig, to_dict
from alphago.dataset import PositionShards, iter_batches
from alphago.model import build_model, count_parameters, grow, with_heads
from alphago.train_eval import _log_eval, _tensorboard, evaluate, forget_log_after

__all__ = ["train", "evaluate", "learning_rate", "make_optimizer", "TrainResult"]

log = logging.getLogger("alphago.train")


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but torch sees no CUDA device")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r} (cpu, cuda, cuda:N or auto)")
    return torch.device(name)


def init_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, device) under torchrun; (0, 1, device) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend)
    rank = dist.get_rank()
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    return rank, world, device


def _leave_together() -> None:
    """Tear the process group down on every rank at once. A rank that destroyed its gloo
    group (and exited) while rank 0 was still on its last evaluation and save could die
    with SIGABRT ('terminate called without an active exception') as its transport
    threads were torn down under a live peer; the barrier keeps the ranks in step."""
    dist.barrier()
    dist.destroy_process_group()


def learning_rate(cfg: TrainConfig, step: int) -> float:
    warm = min(1.0, (step + 1) / max(1, cfg.warmup_steps))
    if cfg.schedule == "cosine":
        frac = min(1.0, step / max(1, cfg.total_steps))
        return cfg.lr * warm * 0.5 * (1 + math.cos(math.pi * frac))
    if cfg.schedule == "step":
        return cfg.lr * warm * 0.5 ** (step // max(1, cfg.step_every))
    if cfg.schedule == "wsd":
        left = cfg.total_steps - step
        decay = min(1.0, max(0.0, left / cfg.decay_steps)) if cfg.decay_steps > 0 else 1.0
        return cfg.lr * warm * decay
    if cfg.schedule != "constant":
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    return cfg.lr * warm


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD or AdamW over the parameters that learn (``requires_grad``); weight decay on
    the weights of convolutions and linear layers only."""
    learn = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in learn if p.ndim > 1]
    no_decay = [p for p in learn if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum,
                               nesterov=cfg.momentum > 0)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def _frozen(model: torch.nn.Module, cfg: TrainConfig) -> tuple[list, list]:
    """(modules, parameters) of ``model`` that ``cfg.train_only`` keeps as loaded."""
    if cfg.train_only == "all":
        return [], []
    if getattr(model, "cfg", None) is None or model.cfg.heads not in ("value", "both"):
        raise ValueError("train_only=value_head needs a net with a value head")
    mods = [m for name, m in model.named_children() if not name.startswith("value_")]
    params = [p for name, p in model.named_parameters() if not name.startswith("value_")]
    return mods, params


def freeze(model: torch.nn.Module, cfg: TrainConfig) -> None:
    """No gradients for the frozen parts and their batch-norm statistics held (eval mode).
    Called before every step, as evaluating puts the whole net back in training mode."""
    mods, params = _frozen(model, cfg)
    for m in mods:
        m.eval()
    for p in params:
        p.requires_grad_(False)


NO_MOVE = -100  # the target of rows that train the value head only (cross-entropy ignores it)


class _BatchStream(torch.utils.data.IterableDataset):
    """Batches of (planes, moves, outcomes); DataLoader workers take every k-th batch.
    With ``value_shards``, each batch gets ``value_batch`` more rows from them whose move
    target is ``NO_MOVE``: they train the value head only."""

    def __init__(self, shards: PositionShards, batch_size: int, seed: int, rank: int, world: int,
                 start: int, value_shards: PositionShards | None = None, value_batch: int = 0,
                 targets: bool = False):
        self.shards, self.batch_size, self.seed = shards, batch_size, seed
        self.rank, self.world, self.start = rank, world, start
        self.value_shards = value_shards if value_batch > 0 else None
        self.value_batch = value_batch
        self.targets = targets  # a fourth tensor: policy target distributions

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        rng = np.random.default_rng([self.seed, self.rank, wid, self.start])
        it = iter_batches(len(self.shards), self.batch_size, self.seed, self.rank, self.world,
                          self.start)
        vit = (iter_batches(len(self.value_shards), self.value_batch, self.seed + 1, self.rank,
                            self.world, self.start) if self.value_shards is not None else None)
        for k, idx in enumerate(it):
            vidx = next(vit) if vit is not None else None
            if k % nw != wid:
                continue
            planes, moves, outcomes, *dist = self.shards.batch(idx, rng, targets=self.targets)
            if vidx is not None:
                vp, _, vo = self.value_shards.batch(vidx, rng)
                planes = np.concatenate([planes, vp])
                moves = np.concatenate([moves, np.full(len(vidx), NO_MOVE, moves.dtype)])
                outcomes = np.concatenate([outcomes, vo])
                dist = [np.concatenate([d, np.zeros((len(vidx), d.shape[1]), d.dtype)])
                        for d in dist]
            yield (torch.from_numpy(planes), torch.from_numpy(moves), torch.from_numpy(outcomes),
                   *(torch.from_numpy(d) for d in dist))


def _losses(model, planes, moves, outcomes, cfg: ModelConfig, value_weight: float,
            reinforce: bool = False, targets=None, anchor=None, kl_weight: float = 0.0):
    """The loss and its parts; ``targets`` [B, A]: policy target distributions (expert
    iteration), rows of zeros for value-only rows; ``anchor`` [B, A]: logits of the policy
    the trained one is held near by ``kl_weight`` * KL(anchor || policy) on rows with a move."""
    logits, value = model(planes)
    loss = torch.zeros((), device=planes.device)
    out = {}
    if logits is not None:
        if reinforce:  # REINFORCE: raise the odds of moves by how much better than expected
            ce_each = F.cross_entropy(logits.float(), moves, reduction="none")
            # baseline: the value head's estimate when the net has one, else the batch mean
            base = value.detach().float() if value is not None else outcomes.mean()
            ce = ((outcomes - base) * ce_each).mean()
        elif targets is not None:
            has = targets.sum(1) > 0
            ce_each = -(targets * F.log_softmax(logits.float(), 1)).sum(1)
            ce = ce_each[has].mean() if bool(has.any()) else ce_each.sum() * 0.0
        else:
            ce = F.cross_entropy(logits.float(), moves, ignore_index=NO_MOVE)
        loss = loss + ce
        out["policy_loss"] = ce.detach()
        has_move = moves != NO_MOVE
        if anchor is not None and kl_weight > 0 and bool(has_move.any()):
            kl = _kl(anchor[has_move], logits[has_move])
            loss = loss + kl_weight * kl
            out["kl"] = kl.detach()
        out["top1"] = (logits.argmax(1) == moves)[has_move].float().mean().detach()
    if value is not None:
        known = (outcomes != 0).float()  # 0: a game without a known result
        mse = (known * (value.float() - outcomes) ** 2).sum() / known.sum().clamp(min=1.0)
        loss = loss + value_weight * mse
        out["value_mse"] = mse.detach()
    return loss, out


def _kl(ref_logits, logits):
    """Mean KL(ref || policy) over rows, both given as logits."""
    ref = F.log_softmax(ref_logits.float(), 1)
    return (ref.exp() * (ref - F.log_softmax(logits.float(), 1))).sum(1).mean()


def _anchor(cfg: TrainConfig, model_cfg: ModelConfig, dev: torch.device):
    """The frozen policy of ``cfg.kl_anchor`` when ``cfg.kl_weight`` > 0, else None."""
    if cfg.kl_weight <= 0:
        return None
    if not cfg.kl_anchor:
        raise ValueError("kl_weight > 0 needs kl_anchor: the net the policy is held near")
    try:
        net, _ = checkpoint.load_model(cfg.kl_anchor)
    except checkpoint.CheckpointError as exc:
        raise ValueError(f"kl_anchor: {exc}") from exc
    if net.cfg.heads == "value":
        raise ValueError(f"{cfg.kl_anchor}: a value net has no policy to be held near")
    same = ("board_size", "feature_set")
    if any(getattr(net.cfg, f) != getattr(model_cfg, f) for f in same):
        raise ValueError(f"{cfg.kl_anchor}: its board size or input features differ from "
                         "the trained net's")
    net.to(dev).to(memory_format=torch.channels_last).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class _StopFlag:
    """Set by SIGINT/SIGTERM so that the loop checkpoints and leaves cleanly."""

    def __init__(self):
        self.stop = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        log.warning("signal %d: checkpointing and stopping", signum)
        self.stop = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


@dataclasses.dataclass
class TrainResult:
    step: int
    metrics: dict
    interrupted: bool = False  # stopped by SIGINT/SIGTERM (after checkpointing)
    active_seconds: float = 0.0  # time spent training, pauses (SIGSTOP) excluded


def make_ema(model: torch.nn.Module, decay: float):
    """An exponential moving average of the weights and buffers (batch-norm statistics)."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def ema_weights(ema) -> dict[str, torch.Tensor]:
    """The averaged net's state dict under the trained net's names."""
    return {k: v.detach().cpu().clone() for k, v in ema.module.state_dict().items()}


class ActiveClock:
    """Seconds of work: gaps longer than ``max_gap`` between ticks (a process stopped
    with SIGSTOP, a suspended machine) do not count."""

    def __init__(self, max_gap: float = 180.0):  # an evaluation on a busy CPU stays under it
        self.max_gap, self.total, self._last = max_gap, 0.0, time.monotonic()

    def tick(self) -> float:
        now = time.monotonic()
        gap, self._last = now - self._last, now
        if gap <= self.max_gap:
            self.total += gap
        return self.total


@dataclasses.dataclass
class _Start:
    """Where a run starts: its model and, when resumed, optimizer, average, step, time."""

    model: torch.nn.Module
    model_cfg: ModelConfig
    opt_state: dict | None = None
    ema_state: dict | None = None
    step: int = 0
    active_s: float = 0.0  # training seconds of the run before this resume


def _start(last: Path, resume: bool, init_from: str | None,
           model_cfg: ModelConfig | None) -> _Start:
    if resume and last.exists():
        state = checkpoint.load_state(last)
        cfg = ModelConfig(**state["model_config"])
        model = build_model(cfg)
        model.load_state_dict(state["weights"])
        extra = state.get("extra", {})
        log.info("resumed %s at step %d", last, state["step"])
        return _Start(model, cfg, state["optimizer"], extra.get("ema_weights"), state["step"],
                      float(extra.get("active_s", 0.0)))
    if init_from:
        return _Start(*_init_model(init_from, model_cfg))
    if model_cfg is not None:
        return _Start(build_model(model_cfg), model_cfg)
    raise ValueError("nothing to train: no model config, no checkpoint to resume or "
                     "initialise from")


def _optimizer(st: _Start, dev: torch.device, cfg: TrainConfig, world: int):
    """The model on ``dev`` in training mode, its optimizer and weight average (restored
    when resumed) and the module the steps run (DDP-wrapped on several processes)."""
    model = st.model
    model.to(dev).to(memory_format=torch.channels_last).train()
    freeze(model, cfg)
    opt = make_optimizer(model, cfg)
    if st.opt_state:
        opt.load_state_dict(st.opt_state)
    ema = make_ema(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if ema is not None and st.ema_state is not None:
        ema.module.load_state_dict(st.ema_state)
        # a restored average goes on averaging: at a count of 0 the next update would
        # overwrite it with the trained weights, losing the average at every resume
        ema.n_averaged.fill_(1)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    return opt, ema, ddp


def _datasets(shard_dir, value_shards, cfg: TrainConfig, model_cfg: ModelConfig, world: int):
    """(train, val, value-only train, value-only val) position sets; None where absent."""
    fs = model_cfg.feature_set
    train_set = PositionShards(shard_dir, "train", fs, per_game=cfg.positions_per_game,
                               seed=cfg.seed, q_weight=cfg.value_q_weight)
    try:
        val_set = PositionShards(shard_dir, "val", fs, augment=False,
                                 max_positions=cfg.eval_positions)
    except FileNotFoundError:  # a few self-play games may leave the val split empty
        log.warning("no validation shards: training without evaluation")
        val_set = None
    log.info("%d train / %d val positions", len(train_set), len(val_set) if val_set else 0)
    value_train = value_val = None
    if value_shards and cfg.value_batch > 0 and model_cfg.heads in ("value", "both"):
        value_train = PositionShards(value_shards, "train", fs,
                                     per_game=cfg.value_positions_per_game, seed=cfg.seed,
                                     q_weight=cfg.value_q_weight)
        try:
            value_val = PositionShards(value_shards, "val", fs, augment=False, per_game=1,
                                       seed=cfg.seed + 1)
        except FileNotFoundError:
            value_val = None
        log.info("value-only rows: %d a batch from %d positions (%d held out)",
                 cfg.value_batch, len(value_train), len(value_val) if value_val else 0)
        if len(value_train) < cfg.value_batch * world:
            log.warning("too few value-only positions (%d) for %d a batch: left out",
                        len(value_train), cfg.value_batch)
            value_train = None
    if cfg.value_q_weight > 0 and not (train_set.has_q or (value_train and value_train.has_q)):
        raise ValueError("value_q_weight > 0 needs shards with the search's root values "
                         "(search self-play: alphago-selfplay --visits, alphago-rl --visits); "
                         "none of the training shards holds them")
    return train_set, val_set, value_train, value_val


def _step(ddp, opt, ema, model, batch, dev, cfg: TrainConfig, model_cfg: ModelConfig,
          autocast: bool, lr: float, anchor=None) -> dict:
    """One optimizer step on one batch; returns the loss parts."""
    planes, moves, outcomes, *dist = batch
    freeze(model, cfg)
    for g in opt.param_groups:
        g["lr"] = lr
    x = planes.to(dev, non_blocking=True).float().contiguous(memory_format=torch.channels_last)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=autocast):
        ref = None
        if anchor is not None:
            with torch.no_grad():
                ref = anchor(x)[0]
        loss, parts = _losses(ddp, x, moves.to(dev), outcomes.to(dev), model_cfg,
                              cfg.value_weight, cfg.reinforce,
                              dist[0].to(dev) if dist else None, ref, cfg.kl_weight)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if ema is not None:
        ema.update_parameters(model)
    return parts


def train(shard_dir: str | list[str], run_dir: str, model_cfg: ModelConfig | None,
          cfg: TrainConfig,
          device: str = "auto", resume: bool = False, max_steps: int | None = None,
          bf16: bool | None = None, init_from: str | None = None, progress: bool = True,
          max_seconds: float | None = None, value_shards: str | list[str] | None = None
          ) -> TrainResult:
    """Train until ``cfg.total_steps`` (or ``max_steps`` more steps, or ``max_seconds`` of
    active training time) or a signal. ``init_from`` may hold a net with other heads or a
    narrower/shallower trunk: the weights both nets have are copied (a dual net grown from a
    policy net, a 10x96 net from a 6x64 one), the rest start (almost) silent.
    ``value_shards`` (e.g. self-play games): ``cfg.value_batch`` of their positions,
    ``cfg.value_positions_per_game`` a game, join every batch for the value head alone, and
    their validation split is scored as ``val_sp_value_mse``."""
    from tqdm import tqdm

    dev = pick_device(device)
    rank, world, dev = init_distributed(dev)
    torch.manual_seed(cfg.seed + rank)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    autocast = dev.type == "cuda" if bf16 is None else bf16
    last = run / "last.pt"
    st = _start(last, resume, init_from, model_cfg)
    if rank == 0:
        forget_log_after(run / "log.csv", st.step)
    model, model_cfg = st.model, st.model_cfg
    opt, ema, ddp = _optimizer(st, dev, cfg, world)
    anchor = _anchor(cfg, model_cfg, dev)
    train_set, val_set, value_train, value_val = _datasets(shard_dir, value_shards, cfg,
                                                           model_cfg, world)
    log.info("model %s, %d parameters", model_cfg, count_parameters(model))
    loader = _loader(train_set, value_train, cfg, rank, world, st.step, dev)
    end = cfg.total_steps if max_steps is None else min(cfg.total_steps, st.step + max_steps)
    tb = _tensorboard(run) if rank == 0 else None
    step, metrics, seen = st.step, {}, 0
    clock = ActiveClock()
    bar = tqdm(total=end - st.step, disable=not progress or rank != 0, unit="step")

    with _StopFlag() as flag:
        for batch in loader:
            active = clock.tick()  # every step, so that only true pauses are left out
            out_of_time = max_seconds is not None and active >= max_seconds
            if step >= end or flag.stop or out_of_time:
                break
            parts = _step(ddp, opt, ema, model, batch, dev, cfg, model_cfg, autocast,
                          learning_rate(cfg, step), anchor)
            step += 1
            seen += len(batch[1])
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix({k: f"{v.item():.3f}" for k, v in parts.items()})
            if rank == 0 and val_set is not None and (step % cfg.eval_every == 0
                                                      or step == end):
                metrics = _log_eval(model, ema, val_set, dev, cfg, autocast, run, tb, step,
                                    parts, seen / max(clock.tick(), 1e-9), opt, value_val)
            if rank == 0 and step % cfg.checkpoint_every == 0:
                _save(last, model, opt, ema, step, cfg, st.active_s + clock.tick(), {})
    bar.close()
    if rank == 0:
        _save(last, model, opt, ema, step, cfg, st.active_s + clock.tick(), metrics)
    if world > 1:
        _leave_together()
    return TrainResult(step, metrics, flag.stop, clock.tick())


def _loader(train_set, value_train, cfg: TrainConfig, rank: int, world: int, step: int,
            dev: torch.device):
    """Batches from ``step`` on in the run's data order (``cfg.data_offset`` batches in)."""
    stream = _BatchStream(train_set, cfg.batch_size, cfg.seed, rank, world,
                          cfg.data_offset + step, value_train, cfg.value_batch,
                          cfg.visit_targets)
    return torch.utils.data.DataLoader(stream, batch_size=None, num_workers=cfg.workers,
                                       pin_memory=dev.type == "cuda", persistent_workers=False,
                                       worker_init_fn=functools.partial(_loader_worker_init,
                                                                        os.getpid()))


def _loader_worker_init(parent_pid: int, worker_id: int) -> None:
    """A loader worker leaves stopping to the training process: SIGINT and SIGTERM sent to
    the whole group (Ctrl-C, ``pkill -f``, a session's end) reach only the training loop,
    which checkpoints and then shuts its workers down; and a worker never outlives it."""
    from alphago.procs import die_with_parent

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    die_with_parent(parent_pid)


def _save(last: Path, model, opt, ema, step: int, cfg: TrainConfig, active_s: float,
          metrics: dict) -> None:
    """The run's resumable state: weights, optimizer, step, weight average, active time.
    The momentum and the average are stored in bf16 (a committed campaign state of a 10x96
    net stays under 16 MB); they come back in the parameters' dtype when resumed."""
    extra = {"train_config": to_dict(cfg), "active_s": active_s, **metrics}
    if ema is not None:
        extra["ema_weights"] = _bf16(ema_weights(ema))
    checkpoint.save(last, model, opt, step, extra,
                    optimizer_state=_bf16(opt.state_dict()) if opt is not None else None)


def _bf16(obj):
    """``obj`` (nested dicts/lists of tensors) with its float32 tensors in bfloat16."""
    if isinstance(obj, torch.Tensor):
        return obj.to(torch.bfloat16) if obj.dtype == torch.float32 else obj
    if isinstance(obj, dict):
        return {k: _bf16(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_bf16(v) for v in obj]
    return obj


def _init_model(path: str, model_cfg: ModelConfig | None):
    """The net of ``path``; or, when ``model_cfg`` asks for other heads or a wider/deeper
    trunk of the same kind, a net of ``model_cfg`` holding every weight of ``path`` it has a
    place for (``model.grow``: the added capacity starts (almost) silent)."""
    net, _ = checkpoint.load_model(path)
    if model_cfg is None or net.cfg == model_cfg:
        return net, net.cfg
    fixed = ("arch", "board_size", "feature_set", "batch_norm", "value_hidden")
    if any(getattr(net.cfg, f) != getattr(model_cfg, f) for f in fixed):
        return net, net.cfg
    if (net.cfg.filters, net.cfg.depth) != (model_cfg.filters, model_cfg.depth):
        log.info("%dx%d trunk grown from %s (%dx%d)", model_cfg.depth, model_cfg.filters,
                 path, net.cfg.depth, net.cfg.filters)
        net = grow(net, model_cfg.filters, model_cfg.depth)
    if net.cfg.heads != model_cfg.heads:
        log.info("%s heads grown from %s (%s heads)", model_cfg.heads, path, net.cfg.heads)
        net = with_heads(net, model_cfg.heads)
    return net, net.cfg


