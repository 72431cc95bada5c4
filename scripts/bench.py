#!/usr/bin/env python
"""Benchmarks: prints figures (medians of repeated runs), never asserts on time. The installed command ``alphago-bench`` is the same program
(``alphago/cli/bench.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
