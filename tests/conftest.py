"""Shared test helpers."""

from __future__ import annotations

import pytest
import torch

from netcost.trace import TensorSpec


def T(*shape: int, dtype: torch.dtype = torch.float32) -> TensorSpec:
    """A contiguous tensor spec, as a formula receives it."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    itemsize = torch.empty((), dtype=dtype).element_size()
    return TensorSpec(
        tuple(shape), tuple(reversed(strides)), str(dtype).removeprefix("torch."), itemsize
    )


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables are as wide as the terminal: every test sees the same 120 columns (a test of
    another width sets its own), in-process or in a subprocess, alone or in a pytest-xdist
    worker."""
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture(autouse=True)
def _no_measured_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Analyses in tests read no measured GPU tables, installed or not (the optional extra
    netcost[gpu]): outputs are the same on every machine. Tests of the tables call
    netcost.gpu_tables directly."""
    monkeypatch.setattr("netcost.analysis.timing.gpu_tables", lambda device: None)
