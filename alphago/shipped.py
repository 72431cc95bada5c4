"""The shipped networks: one home for their paths and for which goes with which.

``default_model()`` is what the engine plays with when no ``--model`` is given. A net with a
value head of its own needs nothing beside it; AlphaGo's pair (``policy_sl.pt`` with
``value_sp.pt``) stays available as ``--model data/policy_sl.pt``.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DUAL = DATA_DIR / "dual.pt"  # one trunk, policy and value heads (the campaign's net)
POLICY_SL = DATA_DIR / "policy_sl.pt"  # supervised policy network
VALUE_SP = DATA_DIR / "value_sp.pt"  # value network of POLICY_SL's self-play
ROLLOUT = DATA_DIR / "rollout.npz"  # fast rollout policy
# separate value nets that go with a shipped policy net by default
PAIRS = {POLICY_SL: VALUE_SP}


def default_model() -> Path:
    """The dual net when it is there, else the supervised policy."""
    return DUAL if DUAL.is_file() else POLICY_SL


def default_value_model(model: str | Path) -> str | None:
    """The separate value net that goes with ``model`` by default: its shipped partner,
    none for a net with a value head or any other net."""
    partner = PAIRS.get(Path(model).resolve())
    return str(partner) if partner is not None and partner.is_file() else None
