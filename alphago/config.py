"""Explicit configuration: frozen dataclasses, passed to constructors, saved in checkpoints.

Nothing here reads flags or the environment; scripts build these from argparse
and optionally a TOML/JSON file (``load_overrides``).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """A network: ``arch`` 'alphago' (5x5 then 3x3 convs, the paper's SL policy) or
    'resnet' (a residual tower); heads 'policy', 'value' or 'both'."""

    arch: str = "resnet"
    board_size: int = 19
    feature_set: str = "basic"
    filters: int = 64
    depth: int = 6  # residual blocks (resnet) or convolution layers incl. first and last (alphago)
    heads: str = "policy"
    batch_norm: bool = True
    value_hidden: int = 256

    def __post_init__(self):
        if self.arch not in ("alphago", "resnet"):
            raise ValueError(f"arch must be 'alphago' or 'resnet', not {self.arch!r}")
        if self.heads not in ("policy", "value", "both"):
            raise ValueError(f"heads must be policy, value or both, not {self.heads!r}")
        if self.filters < 1 or self.depth < (3 if self.arch == "alphago" else 1):
            raise ValueError("filters and depth too small")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 128
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    optimizer: str = "sgd"  # sgd (nesterov momentum) or adamw
    # constant, cosine, step, or wsd (warmup-stable-decay: constant after the warmup, then a
    # linear decay to zero over the last ``decay_steps`` before ``total_steps``; a run can be
    # continued past its stable phase by raising total_steps, which a cosine cannot)
    schedule: str = "constant"
    warmup_steps: int = 200
    total_steps: int = 100_000
    step_every: int = 50_000  # 'step' schedule halves the rate this often
    decay_steps: int = 0  # wsd: length of the final decay
    # batches of the shuffled data order skipped before step 0: a run that continues another
    # run's net on the same shards starts where that run stopped reading
    data_offset: int = 0
    # exponential moving average of the weights (and batch-norm statistics) kept beside the
    # trained ones and evaluated too, 0 = off; 0.999 averages over about 1,000 steps
    ema_decay: float = 0.0
    # rows added to every batch from a second shard set (train(value_shards=...), e.g.
    # self-play games) that train the value head only, drawn k positions a game
    value_batch: int = 0
    value_positions_per_game: int = 8
    eval_every: int = 1000
    eval_positions: int = 20_000
    checkpoint_every: int = 1000
    seed: int = 0
    workers: int = 1
    value_weight: float = 1.0
    # the value target of positions whose shards hold the search's root value q (search
    # self-play): (1 - w) * outcome + w * q; 0 = the outcome alone. Validation stays on the
    # outcome, the figure a value head is judged by
    value_q_weight: float = 0.0
    # value nets: 0 trains on every position; k > 0 on at most k positions drawn per game
    # (AlphaGo drew 1 per game against overfitting to the shared outcome of a game)
    positions_per_game: int = 0
    reinforce: bool = False  # policy gradient: log-likelihood weighted by outcome - baseline
    # expert iteration: the policy learns the shards' search visit distributions (where they
    # hold them) instead of the move played
    visit_targets: bool = False
    # a second policy the trained one is held near: kl_weight * KL(anchor || policy) on every
    # batch's positions joins the loss (0 = off); for REINFORCE, the net the run started from,
    # so that the outcomes reshape the policy without losing its first choices
    kl_weight: float = 0.0
    kl_anchor: str | None = None
    # "value_head": only the value head learns; the trunk, the policy head and their
    # batch-norm statistics stay as loaded (--init-from), so the policy is exactly the
    # loaded one's while the value head is refitted (e.g. to more self-play outcomes)
    train_only: str = "all"

    def __post_init__(self):
        if not 0.0 <= self.value_q_weight <= 1.0:
            raise ValueError(f"value_q_weight must be within 0..1, not {self.value_q_weight}")
        if self.train_only not in TRAIN_ONLY:
            raise ValueError(f"train_only must be one of {', '.join(TRAIN_ONLY)}, "
                             f"not {self.train_only!r}")


TRAIN_ONLY = ("all", "value_head")


NN_COALESCE_MODES = ("auto", "on", "off")


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """Every MCTS setting (AlphaGo's values where the paper gives them), validated on
    construction. ``cli/gtp.py`` generates the engine's search flags from these fields and
    ``SEARCH_HELP``."""

    visits: int = 400
    seconds: float | None = None
    c_puct: float = 5.0
    virtual_loss: int = 3
    mix_lambda: float = 0.5
    batch_size: int = 8
    threads: int = 1
    max_nodes: int = 30_000
    rollouts: bool = True
    rollout_moves_per_point: int = 3
    expand_visits: int = 1
    nn_cache_size: int = 50_000
    resign_threshold: float = -0.9
    resign_moves: int = 3
    dirichlet_alpha_19: float = 0.03
    reuse_max_moves: int = 4
    reuse_max_fill: float = 0.8
    ponder_fill: float = 0.5
    root_symmetries: int = 1
    nn_coalesce: str = "auto"
    seed: int = 0

    def __post_init__(self):
        checks = [
            (self.visits >= 1, "visits must be >= 1"),
            (self.seconds is None or self.seconds > 0, "seconds must be positive"),
            (self.c_puct > 0, "c_puct must be positive"),
            (self.virtual_loss >= 0, "virtual_loss must be >= 0"),
            (0.0 <= self.mix_lambda <= 1.0, "mix_lambda must be within 0..1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (1 <= self.threads <= 256, "threads must be within 1..256"),
            (self.max_nodes >= 16, "max_nodes must be >= 16"),
            (self.rollout_moves_per_point >= 1, "rollout_moves_per_point must be >= 1"),
            (self.expand_visits >= 1, "expand_visits must be >= 1"),
            (self.nn_cache_size >= 0, "nn_cache_size must be >= 0"),
            (-1.0 <= self.resign_threshold <= 1.0, "resign_threshold must be within -1..1"),
            (self.resign_moves >= 1, "resign_moves must be >= 1"),
            (self.dirichlet_alpha_19 > 0, "dirichlet_alpha_19 must be positive"),
            (self.reuse_max_moves >= 0, "reuse_max_moves must be >= 0"),
            (0.0 < self.reuse_max_fill <= 1.0, "reuse_max_fill must be within (0, 1]"),
            (0.0 < self.ponder_fill <= 1.0, "ponder_fill must be within (0, 1]"),
            (self.root_symmetries in (1, 8), "root_symmetries must be 1 or 8"),
            (self.nn_coalesce in NN_COALESCE_MODES,
             f"nn_coalesce must be one of {', '.join(NN_COALESCE_MODES)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


# help text of the search flags (``cli/gtp.py`` makes one flag per SearchConfig field)
SEARCH_HELP = {
    "visits": "simulations per move (with --seconds: at most)",
    "seconds": "cap on seconds per move",
    "c_puct": "PUCT exploration constant",
    "virtual_loss": "visits of virtual loss on a path while its batch is evaluated",
    "mix_lambda": "leaf value (1-L) v + L z: rollout weight L (AlphaGo: 0.5)",
    "batch_size": "leaves per network call",
    "threads": "search threads sharing the tree, each with a batch of leaves in flight "
               "(its network call and rollouts on a core of its own)",
    "max_nodes": "nodes in the preallocated tree (memory: nodes x (n^2+1) x 16 bytes)",
    "rollouts": "fast rollouts at leaves (on/off)",
    "rollout_moves_per_point": "a rollout stops after this many moves per board point",
    "expand_visits": "visits before a leaf is expanded with network priors (AlphaGo: 40)",
    "nn_cache_size": "network evaluations cached by position (0 = off)",
    "resign_threshold": "resign when the root value (-1..1) stays below this; -1 never",
    "resign_moves": "moves in a row below the threshold before resigning",
    "dirichlet_alpha_19": "root noise alpha on 19x19 (scaled by 361 / n^2 on other sizes)",
    "reuse_max_moves": "moves past the old root within which its subtree is reused",
    "reuse_max_fill": "the tree is rebuilt when this fraction of its nodes is in use",
    "ponder_fill": "pondering stops at this fraction of the nodes",
    "root_symmetries": "8: the root's priors averaged over the board's 8 symmetries (one "
                       "batch of 8 a move), 1: one view, as every other node",
    "nn_coalesce": "merge the search threads' concurrent network calls into one call: on, "
                   "off, or auto (on for a GPU with several threads)",
    "seed": "random seed",
}


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from a dict, rejecting unknown keys with a clear message."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return cls(**data)


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Settings from a .toml or .json file as a flat dict."""
    p = Path(path)
    text = p.read_text()
    if p.suffix.lower() == ".json":
        return json.loads(text)
    return tomllib.loads(text)
