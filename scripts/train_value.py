#!/usr/bin/env python
"""Value network: regression of self-play outcomes, one position sampled per game. The installed command ``alphago-train-value`` is the same program
(``alphago/cli/train_value.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.train_value import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
