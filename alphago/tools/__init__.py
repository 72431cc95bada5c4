"""Tooling apart from the engine: benchmark bodies (``bench``), kill-and-resume checks
(``chaos``), GTP and SGF fuzzing (``fuzz``, ``sgf_fuzz``). The engine never imports them;
``scripts/`` and ``alphago-bench`` drive them, and the tests run small versions."""
