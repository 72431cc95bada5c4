"""The programs a user runs, one module each, installed as console scripts by
``pip install .`` (``[project.scripts]`` in pyproject.toml): ``alphago-gtp`` (the engine),
``alphago-analysis`` (KataGo-style JSON analysis), ``alphago-train``, ``alphago-campaign``,
``alphago-selfplay``, ``alphago-rl``, ``alphago-match``, ``alphago-eval``, ``alphago-bench``
and the rest. In a checkout, ``gtp_server.py`` and ``scripts/*.py`` run the same mains.
Each module parses its flags and calls into the library; none holds engine logic.
"""
