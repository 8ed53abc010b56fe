"""Time series and trajectories: known padding, frequency and time steps."""

from __future__ import annotations

import torch

from netcost.hf.draft import Draft
from netcost.hf.spec import Input, filled

#: Time-series inputs with known values: no padding, frequency class 0 (high) — TimesFM.
SERIES_VALUES = {"past_values_padding": 0, "freq": 0}


def known_values(d: Draft) -> None:
    """TimesFM's series unpadded, in frequency class 0; a Decision Transformer's time steps
    0, 1, 2, …"""
    for name, value in SERIES_VALUES.items():
        if name in d.inputs:
            d.inputs[name] = filled(d.shape(name), value)
    if "timesteps" in d.inputs:
        shape = d.shape("timesteps")
        d.inputs["timesteps"] = Input.of(torch.arange(shape[-1]).expand(shape).clone())
