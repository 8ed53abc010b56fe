"""`Draft`: the inputs chosen so far for one model, which each rule reads and amends."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from netcost.hf.probe import Probe
from netcost.hf.spec import Input


@dataclass
class Draft:
    model: nn.Module
    config: Any
    #: the forward's named parameters
    params: dict[str, inspect.Parameter]
    #: the inputs, by name, in the order they are fed
    inputs: dict[str, Input] = field(default_factory=dict)
    probe: Probe = field(init=False)

    def __post_init__(self) -> None:
        self.probe = Probe(self.config)

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of input `name`; () where there is none."""
        found = self.inputs.get(name)
        return found.shape if found is not None else ()

    def given(self, names: tuple[str, ...] | list[str]) -> dict[str, Input]:
        """Those of `names` that are inputs, in that order."""
        return {n: self.inputs[n] for n in names if n in self.inputs}

    def result(self) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, torch.Tensor]]:
        """(names, specs, values): the names to feed by keyword, their specs, and the values of
        those whose values matter."""
        values = {n: i.values for n, i in self.inputs.items() if i.values is not None}
        return tuple(self.inputs), tuple(map(str, self.inputs.values())), values
