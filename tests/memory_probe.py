"""Measure a forward pass's activation peak with glibc's allocator statistics (run as a script).

    MALLOC_ARENA_MAX=1 python tests/memory_probe.py NAME    -> prints the peak in bytes

In-use heap bytes (mallinfo2: uordblks + hblkhd) are sampled after every op of a forward pass
under no_grad; the peak above the level before the pass is the activations' peak. Both this and
netcost see memory at op boundaries.
"""

from __future__ import annotations

import ctypes
import gc
import sys

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


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(measure(sys.argv[1]))
