#!/usr/bin/env python
"""Export a checkpoint to ONNX (and optionally its int8 form), metadata included. The installed command ``alphago-export-onnx`` is the same program
(``alphago/cli/export_onnx.py``); this file runs it from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphago.cli.export_onnx import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
