"""The small networks from the learners' discussions netcost was built for, as written there.

Each entry is a zero-argument factory and the input its discussion used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


class Lambda(nn.Module):
    """fast.ai course's Lambda layer: wraps a function as a module."""

    def __init__(self, func: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.func = func

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.func(x)

    def extra_repr(self) -> str:
        return getattr(self.func, "__name__", "")


def simple_cnn() -> nn.Module:
    """fastbook chapter 13: five stride-2 3x3 convolutions taking 28x28 MNIST digits to 2 logits."""

    def conv(ni: int, nf: int, ks: int = 3, act: bool = True) -> nn.Module:
        res = nn.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks // 2)
        return nn.Sequential(res, nn.ReLU()) if act else res

    return nn.Sequential(
        conv(1, 4),  # 14x14
        conv(4, 8),  # 7x7
        conv(8, 16),  # 4x4
        conv(16, 32),  # 2x2
        conv(32, 2, act=False),  # 1x1
        nn.Flatten(),
    )


def mnist_resize(x: torch.Tensor) -> torch.Tensor:
    return x.view(-1, 1, 28, 28)


def flatten(x: torch.Tensor) -> torch.Tensor:
    return x.view(x.shape[0], -1)


def get_cnn_model(classes: int = 10) -> nn.Module:
    """fast.ai course (part 2, lesson 10): the get_cnn_model() of 'How Convolutions Work'."""
    return nn.Sequential(
        Lambda(mnist_resize),
        nn.Conv2d(1, 8, 5, padding=2, stride=2),
        nn.ReLU(),  # 8x14x14
        nn.Conv2d(8, 16, 3, padding=1, stride=2),
        nn.ReLU(),  # 16x7x7
        nn.Conv2d(16, 32, 3, padding=1, stride=2),
        nn.ReLU(),  # 32x4x4
        nn.Conv2d(32, 32, 3, padding=1, stride=2),
        nn.ReLU(),  # 32x2x2
        nn.AdaptiveAvgPool2d(1),
        Lambda(flatten),
        nn.Linear(32, classes),
    )


def nin() -> nn.Module:
    """d2l's Network in Network (chapter 'Modern CNNs'), for 224x224 Fashion-MNIST."""

    def nin_block(cin: int, cout: int, kernel_size: int, strides: int, padding: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size, strides, padding),
            nn.ReLU(),
            nn.Conv2d(cout, cout, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(cout, cout, kernel_size=1),
            nn.ReLU(),
        )

    return nn.Sequential(
        nin_block(1, 96, kernel_size=11, strides=4, padding=0),
        nn.MaxPool2d(3, stride=2),
        nin_block(96, 256, kernel_size=5, strides=1, padding=2),
        nn.MaxPool2d(3, stride=2),
        nin_block(256, 384, kernel_size=3, strides=1, padding=1),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5),
        nin_block(384, 10, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )


class AdaptiveConcatPool2d(nn.Module):
    """fastai's pooling head: average and max pooling side by side (2 · C features)."""

    def __init__(self, size: int = 1) -> None:
        super().__init__()
        self.ap = nn.AdaptiveAvgPool2d(size)
        self.mp = nn.AdaptiveMaxPool2d(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.mp(x), self.ap(x)], 1)


def fastai_resnet18(classes: int = 10) -> nn.Module:
    """fastai's cnn_learner(resnet18): torchvision's resnet18 body (no pool, no fc) and fastai's
    default head (concat pooling, two BatchNorm-Dropout-Linear blocks, no Linear bias)."""
    from netcost.sources import require

    models = require("torchvision.models", "vision")
    body = nn.Sequential(*list(models.resnet18().children())[:-2])
    head = nn.Sequential(
        AdaptiveConcatPool2d(),
        nn.Flatten(),
        nn.BatchNorm1d(1024),
        nn.Dropout(0.25),
        nn.Linear(1024, 512, bias=False),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(512),
        nn.Dropout(0.5),
        nn.Linear(512, classes, bias=False),
    )
    return nn.Sequential(body, head)


@dataclass(frozen=True)
class Example:
    factory: Callable[[], nn.Module]
    inputs: tuple[str, ...]
    source: str


EXAMPLES: dict[str, Example] = {
    "simple_cnn": Example(simple_cnn, ("64x1x28x28",), "fastbook chapter 13"),
    "get_cnn_model": Example(get_cnn_model, ("64x784",), "fast.ai course, 'How Convolutions Work'"),
    "nin": Example(nin, ("1x1x224x224",), "d2l, Network in Network"),
    "fastai_resnet18": Example(fastai_resnet18, ("64x3x28x28",), "fastai cnn_learner(resnet18)"),
}

DEFAULT = "simple_cnn"
