#!/usr/bin/env python
"""The GTP engine that Sabaki, GoGui, gomill or a terminal launch. The installed command ``alphago-gtp`` is the same program
(``alphago/cli/gtp.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[0]))

from alphago.cli.gtp import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
