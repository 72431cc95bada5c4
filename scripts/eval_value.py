#!/usr/bin/env python
"""Value MSE of one or more networks on the same positions of held-out games. The installed command ``alphago-eval-value`` is the same program
(``alphago/cli/eval_value.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.eval_value import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
