"""The shipped networks: one home for their paths and for which goes with which.

``default_model()`` is what the engine plays with when no ``--model`` is given. A net with a
value head of its own needs nothing beside it; AlphaGo's pair (``policy_sl.pt`` with
``value_sp.pt``) stays available as ``--model data/policy_sl.pt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def project_root() -> Path:
    """The checkout the package runs from (``pip install -e .`` or the scripts), else the
    current folder: the base of default run, shard and campaign paths."""
    return _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()


def shared_data() -> Path:
    """The game archives beside the checkout (``../shared/data``)."""
    return project_root().parent / "shared" / "data"


def _data_dir() -> Path:
    """The shipped weights: the checkout's ``data/``, or where ``pip install .`` put them
    (``<prefix>/share/alphago/data``, see ``[tool.setuptools.data-files]``)."""
    local = _CHECKOUT / "data"
    if (local / "policy_sl.pt").is_file():
        return local
    installed = Path(sys.prefix) / "share" / "alphago" / "data"
    return installed if installed.is_dir() else local


DATA_DIR = _data_dir()
DUAL = DATA_DIR / "dual.pt"  # one trunk, policy and value heads (the campaign's net)
POLICY_SL = DATA_DIR / "policy_sl.pt"  # supervised policy network
VALUE_SP = DATA_DIR / "value_sp.pt"  # value network of POLICY_SL's self-play
ROLLOUT = DATA_DIR / "rollout.npz"  # fast rollout policy, supervised on pro moves
ROLLOUT_BALANCED = DATA_DIR / "rollout_balanced.npz"  # ROLLOUT balanced against DUAL's value
# separate value nets that go with a shipped policy net by default
PAIRS = {POLICY_SL: VALUE_SP}
# rollout weights balanced for a shipped net's value estimates; every other net gets ROLLOUT
ROLLOUT_PAIRS = {DUAL: ROLLOUT_BALANCED}


def default_model() -> Path:
    """The dual net when it is there, else the supervised policy."""
    return DUAL if DUAL.is_file() else POLICY_SL


def default_value_model(model: str | Path) -> str | None:
    """The separate value net that goes with ``model`` by default: its shipped partner,
    none for a net with a value head or any other net."""
    partner = PAIRS.get(Path(model).resolve())
    return str(partner) if partner is not None and partner.is_file() else None


def default_rollout(model: str | Path | None) -> str:
    """The rollout weights that go with ``model`` by default: those balanced against its value
    head where shipped, else the supervised ones, else ``"default"`` (the hand-written
    policy) when neither file is there."""
    balanced = ROLLOUT_PAIRS.get(Path(model).resolve()) if model is not None else None
    for path in (balanced, ROLLOUT):
        if path is not None and path.is_file():
            return str(path)
    return "default"
