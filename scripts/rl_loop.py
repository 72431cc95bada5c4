#!/usr/bin/env python
"""Self-play reinforcement learning: generations of self-play, training and gating. The installed command ``alphago-rl`` is the same program
(``alphago/cli/rl_loop.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.rl_loop import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
