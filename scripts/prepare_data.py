#!/usr/bin/env python
"""SGF sources (files, directories, .tar.gz/.tgz/.zip archives) -> train/val position shards. The installed command ``alphago-prepare`` is the same program
(``alphago/cli/prepare_data.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.prepare_data import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
