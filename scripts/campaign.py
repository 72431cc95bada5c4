#!/usr/bin/env python
"""The training campaign: turns idle CPU (or GPU) time into a stronger dual-head network. The installed command ``alphago-campaign`` is the same program
(``alphago/cli/campaign.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.campaign import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
