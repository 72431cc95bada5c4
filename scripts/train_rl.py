#!/usr/bin/env python
"""RL policy by REINFORCE with a baseline on self-play shards, starting from a policy. The installed command ``alphago-train-rl`` is the same program
(``alphago/cli/train_rl.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.train_rl import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
