"""The programs a user runs, one module each, installed as console scripts by
``pip install .`` (``[project.scripts]`` in pyproject.toml): ``alphago-gtp`` (the engine),
``alphago-analysis`` (KataGo-style JSON analysis), ``alphago-train``, ``alphago-campaign``,
``alphago-selfplay``, ``alphago-rl``, ``alphago-match``, ``alphago-eval``, ``alphago-bench``
and the rest. In a checkout, ``gtp_server.py`` and ``scripts/*.py`` run the same mains.
Each module parses its flags and calls into the library; none holds engine logic.
"""

import argparse


def on_off(text: str) -> bool:
    """An on/off flag's value (on, true, yes, 1 / off, false, no, 0); anything else is a
    usage error."""
    if text.lower() in ("on", "true", "yes", "1"):
        return True
    if text.lower() in ("off", "false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, not {text!r}")
