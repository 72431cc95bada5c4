#!/usr/bin/env python
"""Play GTP engines against each other; win rates, Wilson intervals, Elo, SPRT, SGFs. The installed command ``alphago-match`` is the same program
(``alphago/cli/match.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.match import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
