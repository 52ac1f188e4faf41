"""Caches bounded by weight (bytes), least recently used dropped first: decoded panoramas, and the
output files already downloaded, so that one output is fetched once per process however often it is
looked at (delivery, the viewer's rendition, a resource read, view_panorama)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, limit: int, weight: Callable[[V], int]) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._limit = limit
        self._weight = weight
        self.size = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        old = self._items.pop(key, None)
        self.size -= self._weight(old) if old is not None else 0
        weight = self._weight(value)
        if weight > self._limit:
            return  # larger than the whole cache: not kept
        self._items[key] = value
        self.size += weight
        while self.size > self._limit:
            _, dropped = self._items.popitem(last=False)
            self.size -= self._weight(dropped)
