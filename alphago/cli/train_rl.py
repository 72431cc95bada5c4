"""RL policy by REINFORCE with a baseline on self-play shards, starting from a policy.

    alphago-selfplay --model data/policy_sl.pt --opponent data/policy_sl.pt \\
        --games 256 --out runs/rl/games0 --learner-only
    alphago-train-rl --shards runs/rl/games0 --init-from data/policy_sl.pt \\
        --run-dir runs/rl/train0 --total-steps 500

Each position's log-likelihood is weighted by (outcome - baseline): the value head's
estimate when the network has one, else the batch mean outcome. The shards should hold
only the learner's own moves (``--learner-only``; scripts/rl_loop.py does this). Every
train_sl.py flag applies (torchrun for DDP, --resume, ...).
"""

from __future__ import annotations

import sys


from alphago.cli.train_sl import build_parser, main as train_main


def main(argv=None) -> int:
    ap = build_parser()
    ap.description = __doc__.splitlines()[0]
    ap.set_defaults(train_reinforce=True, train_lr=1e-4, train_momentum=0.0,
                    train_warmup_steps=0)
    return train_main(argv, ap)


if __name__ == "__main__":
    sys.exit(main())
