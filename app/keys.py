"""The Redis key builder moved to `connectors/keys.py` (the lowest layer, so flows and connectors can use it too);
this name is kept for imports written before the move."""

from connectors.keys import Keys

__all__ = ["Keys"]
