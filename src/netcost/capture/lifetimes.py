"""Storage lifetimes: when each new storage appears and when the program lets go of it.

A storage is alive while any tensor object on it is; each tensor an op returns gets a weakref
finalizer, and the storage is freed after the op during which its last tensor died. Storages of
parameters, buffers and inputs (and optimizer state) are resident and not followed.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from netcost.capture.specs import storage_of, tensors_in


@dataclass
class Block:
    """One storage: `nbytes` allocated by op `born`, freed after op `died` (None: still alive when
    the run ended). It is alive after every op i with born <= i <= died."""

    nbytes: int
    born: int
    died: int | None = None
    kind: str = ""  # what it holds, where the capture knows (training: activation, gradient, ...)


class Ledger:
    """The blocks of one run. Knows nothing of ops or modules: the caller says which op ran."""

    def __init__(self, resident: frozenset[int] = frozenset()) -> None:
        self.blocks: list[Block] = []
        self.now = -1  # the last op that finished: frees are booked after it
        self._resident = resident
        self._live: dict[int, list[Any]] = {}  # storage key -> [block, tensors still holding it]
        self._counted: dict[int, Any] = {}  # id(tensor) -> weakref, tensors already counted

    def hold(self, out: Any, op: int, kind: str = "") -> int:
        """Follow the storages of op `op`'s results (new ones are of this kind); their bytes."""
        self.now = op
        new = 0
        for t in tensors_in(out):
            ref = self._counted.get(id(t))
            if ref is not None and ref() is t:
                continue  # an in-place op's result: the same tensor
            self._counted[id(t)] = weakref.ref(t)
            storage = storage_of(t)
            if storage is None:  # a layout without a storage of its own (sparse, nested)
                continue
            key = storage._cdata
            if key in self._resident:
                continue
            entry = self._live.get(key)
            if entry is None:
                block = Block(storage.nbytes(), op, kind=kind)
                self.blocks.append(block)
                entry = self._live[key] = [block, 0]
                new += block.nbytes
            entry[1] += 1
            weakref.finalize(t, self._release, key)
        return new

    def live_block(self, key: int) -> Block | None:
        """The block of a storage still alive, by its key (untyped_storage()._cdata)."""
        entry = self._live.get(key)
        return entry[0] if entry else None

    def _release(self, key: int) -> None:
        entry = self._live.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            entry[0].died = self.now
            del self._live[key]


def per_op(blocks: list[Block], ops: int) -> tuple[list[int], list[int]]:
    """Bytes allocated by each op, and bytes freed after each op."""
    allocated, freed = [0] * ops, [0] * ops
    for b in blocks:
        allocated[b.born] += b.nbytes
        if b.died is not None:
            freed[b.died] += b.nbytes
    return allocated, freed


def live_after(blocks: list[Block], ops: int) -> list[int]:
    """Bytes alive after each op: live[i] = Σ allocated[≤ i] − Σ freed[< i]."""
    allocated, freed = per_op(blocks, ops)
    out, live = [], 0
    for a, f in zip(allocated, freed, strict=True):
        live += a
        out.append(live)
        live -= f
    return out
