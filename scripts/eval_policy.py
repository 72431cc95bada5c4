#!/usr/bin/env python
"""Policy accuracy on SGF games: every main-line move of every usable game is a position. The installed command ``alphago-eval`` is the same program
(``alphago/cli/eval_policy.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.eval_policy import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
