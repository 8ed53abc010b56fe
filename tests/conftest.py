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


def tiny_llama() -> torch.nn.Module:
    """A two-layer transformers Llama (width 64, 4 heads, 2 KV heads, 100 tokens) on meta."""
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=100,
    )  # fmt: skip
    with torch.device("meta"):
        return transformers.LlamaForCausalLM(config)


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
    netcost[gpu]), and say so as an installation without it does: outputs are the same on
    every machine. Tests of the tables call
    netcost.gpu_tables directly."""
    from netcost.gpu_tables import missing

    monkeypatch.setattr("netcost.analysis.timing.gpu_tables", lambda device: None)
    monkeypatch.setattr("netcost.analysis.timing.tables_missing",
                        lambda device: missing(device, installed=False))  # fmt: skip


#: modules whose tests take seconds each (allocator probes in fresh processes, real runs of
#: detectors, calibration, whole-process CLI runs): collected first, so that pytest-xdist's
#: workers end on short tests and finish together
SLOW_FIRST = ("test_training_memory.py", "test_memory.py", "test_detection.py",
              "test_profile.py", "test_cli.py")  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in SLOW_FIRST)  # stable: order kept within
