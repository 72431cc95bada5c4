#!/usr/bin/env python
"""Self-play games of a policy network (optionally against an earlier one) -> SGFs + shards. The installed command ``alphago-selfplay`` is the same program
(``alphago/cli/selfplay.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.selfplay import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
