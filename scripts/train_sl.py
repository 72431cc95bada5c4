#!/usr/bin/env python
"""Train the supervised policy network (or a value/both-head net) on position shards. The installed command ``alphago-train`` is the same program
(``alphago/cli/train_sl.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.train_sl import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
