"""Measure memory peaks with glibc's allocator statistics (run as a script).

    MALLOC_ARENA_MAX=1 python tests/memory_probe.py NAME[,NAME...]              -> forward's
        activation peak, one line a model
    MALLOC_ARENA_MAX=1 python tests/memory_probe.py NAME[,NAME...] OPT[,OPT...] -> training
        steps' peaks, one line a model and optimizer (the optimizers within each model)
    (OPT: sgd, momentum, adam or adamw, foreach; with ":forloop", one parameter at a time)

Several models in one process import torch once; each is measured above its own baseline.

In-use heap bytes (mallinfo2: uordblks + hblkhd) are sampled after every op: of a forward pass
under no_grad, or of a whole training step (forward, backward, optimizer step). The peak above
the level before is what netcost estimates; both see memory at op boundaries only.
"""

from __future__ import annotations

import ctypes
import gc
import os
import subprocess
import sys
from collections.abc import Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
        ).split()
    ]


_libc = ctypes.CDLL("libc.so.6")
_libc.mallinfo2.restype = _Mallinfo2


def in_use() -> int:
    info = _libc.mallinfo2()
    return info.uordblks + info.hblkhd


class _Sampler(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, in_use())
        return out


SUITE = {
    "mlp": (lambda: nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096),
                                  nn.GELU(), nn.Linear(4096, 10)), (256, 1024)),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)),
            (32, 3, 64, 64)),
    "resnet18": (lambda: __import__("torchvision").models.resnet18(), (8, 3, 64, 64)),
    "encoder": (lambda: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True), 2, enable_nested_tensor=False),
        (16, 128, 256)),
    "lstm": (lambda: nn.LSTM(256, 512, 2, batch_first=True), (16, 100, 256)),
}  # fmt: skip
#: a training step's models: the forward suite's, with the MLP and the LSTM at a quarter of
#: their work or less (each step runs three times per optimizer, four optimizers per model)
TRAINING = SUITE | {
    "mlp": (lambda: nn.Sequential(nn.Linear(1024, 2048), nn.ReLU(), nn.Linear(2048, 2048),
                                  nn.GELU(), nn.Linear(2048, 10)), (64, 1024)),
    "lstm": (lambda: nn.LSTM(256, 512, 2, batch_first=True), (4, 50, 256)),
}  # fmt: skip


def measure(name: str) -> int:
    build, shape = SUITE[name]
    torch.manual_seed(0)
    model, x = build().eval(), torch.randn(shape)
    with torch.no_grad():
        with _Sampler():  # the first dispatch mode in a process imports ~28 MB of Python
            model(x)
        model(x)  # kernels' lazily allocated caches are in place before the baseline
        gc.collect()
        base = in_use()
        sampler = _Sampler()
        with sampler:
            out = model(x)
        del out
    return sampler.peak - base


OPTIMIZERS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.01, foreach=True),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, foreach=True),
    "adam": lambda ps: torch.optim.Adam(ps, foreach=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, foreach=True),
}


def _loss(out: object) -> torch.Tensor:
    """The sum of every output tensor (nested tuples too)."""
    if isinstance(out, torch.Tensor):
        return out.sum()
    return sum((_loss(o) for o in out), torch.zeros(()))  # type: ignore[attr-defined]


def _optimizer(spec: str, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """'adam' (foreach) or 'adam:forloop'."""
    name, _, impl = spec.partition(":")
    opt = OPTIMIZERS[name](params)
    if impl == "forloop":
        for group in opt.param_groups:
            group["foreach"] = False
    return opt


def measure_step(name: str, optimizer: str) -> int:
    """Peak bytes above parameters, buffers, inputs and optimizer state during one training step
    (forward, backward of the outputs' sum, optimizer step) after a first full step, with
    gradients set to None between steps."""
    build, shape = TRAINING[name]
    torch.manual_seed(0)
    model, x = build().train(), torch.randn(shape)
    opt = _optimizer(optimizer, list(model.parameters()))

    def step() -> None:
        _loss(model(x)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    with _Sampler():
        step()
    step()
    gc.collect()
    base = in_use()
    sampler = _Sampler()
    with sampler:
        _loss(model(x)).backward()
        opt.step()
    return sampler.peak - base


def run(names: Sequence[str], optimizers: Sequence[str] = ()) -> list[int]:
    """This script in a fresh process with one malloc arena: its lines as numbers (a model's
    activation peak each, or with `optimizers` its training steps' peaks, model by model)."""
    command = [
        sys.executable,
        __file__,
        ",".join(names),
        *([",".join(optimizers)] * bool(optimizers)),
    ]
    env = dict(os.environ, MALLOC_ARENA_MAX="1")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    return [int(line) for line in result.stdout.split()]


if __name__ == "__main__":
    torch.set_num_threads(1)
    for model_name in sys.argv[1].split(","):
        if len(sys.argv) > 2:
            for optimizer in sys.argv[2].split(","):
                print(measure_step(model_name, optimizer))
        else:
            print(measure(model_name))
