"""An AlphaGo-style Go engine: rules core, networks, search, GTP."""

__version__ = "0.1.0"
