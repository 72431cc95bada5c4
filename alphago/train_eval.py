"""Evaluation and logging of a training run: held-out top-1, NLL and value MSE of the
trained and averaged weights, written to ``log.csv``, TensorBoard and ``best.pt``."""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from alphago import checkpoint
from alphago.dataset import PositionShards

log = logging.getLogger("alphago.train")


def _outputs(model, shards: PositionShards, device: torch.device, n: int, batch_size: int,
             autocast: bool = False):
    """The net's (logits, value) on the first ``n`` positions, batch by batch, no symmetry,
    with each batch's indices, moves and outcomes; the net is in eval mode meanwhile and back
    in the mode it had afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for s in range(0, n, batch_size):
                idx = np.arange(s, min(n, s + batch_size))
                planes, moves, outcomes = shards.batch(idx)
                x = torch.from_numpy(planes).to(device).float().contiguous(
                    memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                    logits, value = model(x)
                yield idx, logits, value, moves, outcomes
    finally:
        model.train(was_training)


def evaluate(model, shards: PositionShards, device: torch.device, max_positions: int,
             batch_size: int = 256, autocast: bool = False) -> dict:
    """top1, top5, nll (and value mse) over the first positions of a split, no symmetry."""
    n = min(len(shards), max_positions)
    sums = {"top1": 0.0, "top5": 0.0, "nll": 0.0, "value_mse": 0.0}
    has_policy = has_value = False
    known = 0
    for _, logits, value, moves, outcomes in _outputs(model, shards, device, n, batch_size,
                                                      autocast):
        y = torch.from_numpy(moves).to(device)
        if logits is not None:
            has_policy = True
            logits = logits.float()
            sums["top1"] += (logits.argmax(1) == y).sum().item()
            sums["top5"] += (logits.topk(5, 1).indices == y[:, None]).any(1).sum().item()
            sums["nll"] += F.cross_entropy(logits, y, reduction="sum").item()
        if value is not None:
            has_value = True
            z = torch.from_numpy(outcomes).to(device)
            sums["value_mse"] += ((z != 0) * (value.float() - z) ** 2).sum().item()
            known += int((z != 0).sum().item())
    out = {"positions": n}
    if has_policy:
        out.update({k: sums[k] / n for k in ("top1", "top5", "nll")})
    if has_value and known:
        out["value_mse"] = sums["value_mse"] / known
    return out


def value_estimates(model, shards: PositionShards, device: torch.device,
                    batch_size: int = 256) -> np.ndarray:
    """The value head's estimate (the mover's view) of each position of ``shards``, no
    symmetry."""
    out = np.empty(len(shards))
    for idx, _, value, _, _ in _outputs(model, shards, device, len(shards), batch_size):
        out[idx] = value.float().cpu().numpy()
    return out


def value_errors(model, shards: PositionShards, device: torch.device,
                 batch_size: int = 256) -> np.ndarray:
    """The value head's squared error on each position of ``shards``, no symmetry; NaN
    where the game's result is unknown (outcome 0)."""
    out = np.full(len(shards), np.nan)
    for idx, _, value, _, outcomes in _outputs(model, shards, device, len(shards), batch_size):
        value = value.float().cpu().numpy()
        known = outcomes != 0
        out[idx[known]] = (value[known] - outcomes[known]) ** 2
    return out


def _csv_append(path: Path, row: dict) -> None:
    """Append ``row`` under the file's header. A run resumed with other loss parts (a
    teacher added or dropped) logs other columns: a column the header lacks is added to it
    (the file is rewritten, older rows empty there), one the row lacks is left empty."""
    header = []
    if path.exists() and path.stat().st_size:
        with path.open(newline="") as f:
            header = next(csv.reader(f), [])
    added = [k for k in row if k not in header]
    if header and added:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        _csv_write(path, header + added, rows)
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header + added, restval="")
        if not header:
            w.writeheader()
        w.writerow(row)


def _csv_write(path: Path, fields: list[str], rows: list[dict]) -> None:
    """The whole file anew, through a temporary file (a kill leaves the old one whole)."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def forget_log_after(path: Path, step: int) -> None:
    """Drop the log rows past ``step``: a run resumed from its checkpoint at ``step`` redoes
    them (a kill between an evaluation and the next checkpoint left them behind)."""
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    keep = [r for r in rows if int(r["step"]) <= step]
    if len(keep) == len(rows) or not rows:
        return
    _csv_write(path, list(rows[0]), keep)


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional
        log.info("tensorboard not installed: logging to CSV only")
        return None
    return SummaryWriter(str(run_dir / "tb"))


def _log_eval(model, ema, val_set, dev, cfg, autocast, run, tb, step, parts, rate, opt,
              value_val=None) -> dict:
    ev = evaluate(model, val_set, dev, cfg.eval_positions, autocast=autocast)
    ev_ema = evaluate(ema.module, val_set, dev, cfg.eval_positions, autocast=autocast) \
        if ema is not None else {}
    if value_val is not None:  # held-out self-play positions, one a game
        nets = [(model, ev)] + ([(ema.module, ev_ema)] if ema is not None else [])
        for net, res in nets:
            sp = evaluate(net, value_val, dev, cfg.eval_positions, autocast=autocast)
            res["sp_value_mse"] = sp.get("value_mse", float("nan"))
    row = {"step": step, "lr": opt.param_groups[0]["lr"], "samples_per_s": round(rate, 1),
           **{f"train_{k}": round(v.item(), 4) for k, v in parts.items()},
           **{f"val_{k}": round(v, 4) for k, v in ev.items()},
           **{f"ema_{k}": round(v, 4) for k, v in ev_ema.items() if k != "positions"},
           "time": int(time.time())}
    _csv_append(run / "log.csv", row)
    if tb is not None:
        for k, v in row.items():
            if k not in ("step", "time"):
                tb.add_scalar(k, v, step)
    log.info("step %d %s", step, row)
    best = run / "best.pt"
    # the best checkpoint: highest top-1 for nets with a policy, else lowest value MSE
    key, sign = ("top1", 1.0) if "top1" in ev else ("value_mse", -1.0)
    prev = _best_score(best, key)
    # with an average kept, the candidate is whichever of the two nets scores better
    cand, cand_ev = model, ev
    if ema is not None and key in ev_ema and sign * ev_ema[key] > sign * ev[key]:
        cand, cand_ev = ema.module, ev_ema
    if key in cand_ev and (prev is None or sign * cand_ev[key] > sign * prev):
        checkpoint.save(best, cand, None, step, {"val": cand_ev})
    return {"val": ev, **({"ema": ev_ema} if ema is not None else {})}


def _best_score(path: Path, key: str) -> float | None:
    if not path.exists():
        return None
    try:
        return checkpoint.load_state(path)["extra"]["val"][key]
    except (checkpoint.CheckpointError, KeyError):
        return None
