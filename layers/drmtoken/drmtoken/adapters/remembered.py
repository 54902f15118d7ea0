"""What a warm function keeps for a while: a live event asks for the same few items thousands of times a second.

Only what was found is kept: an item that is not there yet (a title being packaged, a key
being stored) is read again on the next request. DynamoDB serves at most 3,000 read units a
second on one item, so without this one popular key would be a hot spot for reads. Bounded:
a container that has seen very many names starts over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

MAX_ENTRIES = 10_000


class Remembered:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.clock = time.monotonic  # a test moves it
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}

    def get(self, name: tuple[str, ...], load: Callable[[], Any]) -> Any:
        """What ``load`` finds for ``name``, from memory while it is fresh; nothing found is never kept."""
        value = self.known(name)
        if value is None:
            value = load()
            if value:
                self.keep(name, value)
        return value

    def known(self, name: tuple[str, ...]) -> Any:
        """The value kept for ``name`` while it is fresh, else None."""
        entry = self._entries.get(name)
        return entry[1] if entry is not None and entry[0] >= self.clock() else None

    def keep(self, name: tuple[str, ...], value: Any) -> None:
        if self.seconds > 0:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[name] = (self.clock() + self.seconds, value)

    def forget(self, name: tuple[str, ...]) -> None:
        self._entries.pop(name, None)

    def clear(self) -> None:
        self._entries.clear()
