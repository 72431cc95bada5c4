#!/usr/bin/env python
"""Average the weights of several nets of one architecture. The installed command
``alphago-average`` is the same program (``alphago/cli/average.py``); this file runs it from
a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.average import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
