"""The objects that have crossed the grading boundary, by key, on one side of it (both sides keep one)."""
from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import torch


class Handle:
    """A reference to an object that stays on the other side; the client wraps it in a proxy."""

    def __init__(self, key: str, mro: list[str], text: str):
        self.key, self.mro, self.text = key, mro, text


class ObjectTable:
    """Objects that have crossed, by key, on one side of the boundary (``side`` is "t" or "w")."""

    def __init__(self, side: str, handle_factory: Callable[[Handle], Any] | None = None):
        self.side = side
        self.handle_factory = handle_factory
        self.reset()

    def reset(self) -> None:
        self.objects: dict[str, Any] = {}  # key -> local object (own or mirror)
        self.keys: dict[int, str] = {}  # id(local object) -> key
        self.storages: dict[str, torch.UntypedStorage] = {}
        self.storage_ranges: list[tuple[int, int, str]] = []  # (start, end, key) of CPU storages
        self.storage_keys: dict[tuple[int, int, str], str] = {}
        self.storage_crc: dict[str, tuple[int, int]] = {}  # what the other side last saw of a storage
        self.storage_starts: dict[tuple[int, int], str] = {}
        self.handles: dict[str, Any] = {}  # key -> local proxy for a remote handle
        self.own_handles: dict[str, Any] = {}  # key -> local object the other side holds a handle to
        self.files: dict[str, pathlib.Path] = {}
        # Keys are never reused, not even after a reset: a key's number tells the other side nothing about where
        # a check starts.
        self._next: int = getattr(self, "_next", 0)

    def new_key(self, prefix: str = "") -> str:
        self._next += 1
        return f"{self.side}{prefix}{self._next}"

    def register(self, obj: Any, key: str | None = None) -> str:
        known = self.keys.get(id(obj))
        if known is not None and self.objects.get(known) is obj:
            return known
        key = key or self.new_key()
        self.objects[key] = obj
        self.keys[id(obj)] = key
        return key

    def key_of(self, obj: Any) -> str | None:
        key = self.keys.get(id(obj))
        return key if key is not None and self.objects.get(key) is obj else None

    # storages --------------------------------------------------------------------------------------------------
    def storage_key(self, storage: torch.UntypedStorage) -> str:
        if storage.device.type != "cpu" or storage.nbytes() == 0:
            ident = (storage.data_ptr(), storage.nbytes(), str(storage.device))
            key = self.storage_keys.get(ident) if storage.device.type != "meta" else None
            if key is None:
                key = self.new_key("s")
                if storage.device.type != "meta":
                    self.storage_keys[ident] = key
                self.storages[key] = storage
            return key
        start = storage.data_ptr()
        exact = self.storage_starts.get((start, storage.nbytes()))
        if exact is not None:
            return exact
        for lo, hi, key in self.storage_ranges:
            if lo <= start and start + storage.nbytes() <= hi:
                return key
        key = self.new_key("s")
        self.storages[key] = storage
        self.storage_ranges.append((start, start + storage.nbytes(), key))
        self.storage_starts[(start, storage.nbytes())] = key
        return key

    def storage_containing(self, address: int, nbytes: int) -> str | None:
        for lo, hi, key in self.storage_ranges:
            if lo <= address and address + nbytes <= hi:
                return key
        return None

    def adopt_storage(self, key: str, storage: torch.UntypedStorage) -> None:
        self.storages[key] = storage
        if storage.device.type == "cpu" and storage.nbytes():
            self.storage_ranges.append((storage.data_ptr(), storage.data_ptr() + storage.nbytes(), key))
            self.storage_starts[(storage.data_ptr(), storage.nbytes())] = key
        elif storage.device.type != "meta":
            self.storage_keys[(storage.data_ptr(), storage.nbytes(), str(storage.device))] = key
