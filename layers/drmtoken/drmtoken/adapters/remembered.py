"""Lookups a warm function keeps for a while: a live event asks for the same few items thousands of times a second.

Only what was found is kept: an item that is not there yet (a title being packaged, a key
being stored) is read again on the next request. DynamoDB serves at most 3,000 read units a
second on one item, so without this one popular key would be a hot spot for reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

MAX_ENTRIES = 10_000  # bounded: a container serving many titles starts over


class Remembered:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}

    def get(self, name: tuple[str, ...], load: Callable[[], Any]) -> Any:
        """What ``load`` finds for ``name``, from memory while it is fresh; nothing found is never kept."""
        entry = self._entries.get(name)
        if entry is not None and entry[0] >= time.monotonic():
            return entry[1]
        value = load()
        if value and self.seconds > 0:
            if len(self._entries) > MAX_ENTRIES:
                self._entries.clear()
            self._entries[name] = (time.monotonic() + self.seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
