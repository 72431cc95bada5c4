#!/usr/bin/env python
"""Train the fast rollout policy (softmax over local patterns) on position shards. The installed command ``alphago-train-rollout`` is the same program
(``alphago/cli/train_rollout.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.train_rollout import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
