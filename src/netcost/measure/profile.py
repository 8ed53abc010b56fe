"""`netcost --profile` / `netcost.profile()`: the model run for real on the local device (CUDA
when present, else the CPU), its time attributed to netcost's layers.

The model is copied and materialised with its own initialisers (the user's model is not
touched), then run `warmup` times and `repeats` times more. Attribution is by synchronised
forward hooks: each module call's wall time from its pre-hook to its post-hook (CUDA is
synchronised at both), the median over the repeats. The hooks cost time of their own, measured
with the same hooks on a chain of 64 empty modules (`nn.Identity`), beside the same chain without
them: `hook_inside_s`, what they add inside a call's measured interval (the interval less the
call's unhooked cost), and `hook_call_s`, what they add to a whole call. A layer's time is its
interval less `hook_inside_s`, less `hook_call_s` for every call inside it. The model's total is
also measured without hooks, and reported beside.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netcost.errors import UnsupportedError
from netcost.shown import ShownAsText


@dataclass(frozen=True)
class Profile(ShownAsText):
    device: str  # "cpu (2 threads)", "cuda:0 NVIDIA H100 80GB HBM3"
    method: str
    warmup: int
    repeats: int
    forward_s: float  # median of whole forwards without hooks
    hooked_s: float  # median of whole forwards with the hooks: the difference is their cost
    layers: tuple[tuple[str, int, float], ...]  # (path, call number, median seconds), inclusive
    training_s: float | None = None  # median of whole training steps (forward, backward, step)
    hook_inside_s: float = 0.0  # the hooks' cost inside one call's interval (may be < 0)
    hook_call_s: float = 0.0  # the hooks' cost added to one whole call

    def layer_seconds(self, *, raw: bool = False) -> dict[tuple[str, int], float]:
        """Each call's median time less the hooks' own cost: its interval − hook_inside_s −
        hook_call_s × the calls inside it (each of those ran its own two hooks). `raw`: as
        measured."""
        found = {(path, n): s for path, n, s in self.layers}
        if raw or not found:
            return found
        counts: dict[str, int] = defaultdict(int)
        for path, _ in found:
            counts[path] += 1
        inside = {
            path: sum(c for p, c in counts.items() if p and (not path or p.startswith(f"{path}.")))
            for path in counts
        }
        return {
            (path, n): max(s - self.hook_inside_s - self.hook_call_s * inside[path], 0.0)
            for (path, n), s in found.items()
        }

    def __repr__(self) -> str:
        return f"<Profile on {self.device}: forward {self.forward_s * 1e3:.4g} ms>"


def local_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def describe(device: str) -> str:
    if device.startswith("cuda"):
        return f"{device}:0 {torch.cuda.get_device_name(0)}"
    return f"cpu ({torch.get_num_threads()} threads)"


def free_bytes(device: str) -> int:
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info()[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _sync(device: str) -> Callable[[], None]:
    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def _on(value: Any, device: str) -> Any:
    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":
            if value.dtype.is_floating_point:
                return torch.randn(tuple(value.shape), dtype=value.dtype, device=device)
            return torch.zeros(tuple(value.shape), dtype=value.dtype, device=device)
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_on(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _on(v, device) for k, v in value.items()}
    return value


def profile(
    model: nn.Module,
    inputs: Any,
    *,
    warmup: int = 3,
    repeats: int = 20,
    train: bool = False,
    predicted_peak: int | None = None,
    device: str | None = None,
) -> Profile:
    """Measure `model` on `inputs` (a tensor, a tuple or a dict, real or meta) on the local device.
    predicted_peak: netcost's memory prediction; the run is refused when it exceeds free memory."""
    from netcost.capture.state import materialised

    device = device or local_device()
    if predicted_peak is not None and predicted_peak > free_bytes(device):
        from netcost.text import binary_size

        raise UnsupportedError(
            f"--profile: netcost predicts a peak of {binary_size(predicted_peak)}, more than the "
            f"{binary_size(free_bytes(device))} free on {device}: not run"
        )
    meta = any(t.device.type == "meta" for t in [*model.parameters(), *model.buffers()])
    work = materialised(model, device) if meta else _copy(model).to(device)
    work.train(train)
    args = _on(inputs if isinstance(inputs, (tuple, dict)) else (inputs,), device)
    sync = _sync(device)

    def forward() -> Any:
        return work(**args) if isinstance(args, dict) else work(*args)

    optimizer = torch.optim.AdamW(work.parameters(), foreach=True) if train else None

    def step() -> None:
        out = forward()
        parts = [t.sum() for t in _tensors(out) if t.requires_grad]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        total.backward()
        assert optimizer is not None
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    context = torch.enable_grad() if train else torch.no_grad()
    with context:
        whole, hooked, layers = _per_layer(work, forward, warmup, repeats, sync)
        training = _timed(step, warmup, repeats, sync) if train else None
        hook_inside, hook_call = hook_costs(device, sync)
    return Profile(
        describe(device),
        "synchronised forward hooks" if device.startswith("cuda") else "forward hooks (CPU)",
        warmup,
        repeats,
        whole,
        hooked,
        layers,
        training,
        hook_inside,
        hook_call,
    )


def hook_costs(device: str, sync: Callable[[], None], links: int = 64) -> tuple[float, float]:
    """(inside, per call): the profile's hooks on a chain of `links` empty modules, against the
    same chain unhooked. inside = an empty call's median interval − its unhooked cost (chain ÷
    links); per call = (hooked chain − unhooked chain) ÷ (links + 1 calls, the chain's own)."""
    chain = nn.Sequential(*(nn.Identity() for _ in range(links)))
    x = torch.zeros(1, device=device)
    plain, hooked, layers = _per_layer(chain, lambda: chain(x), 20, 200, sync)
    empty = statistics.median(s for path, _, s in layers if path)
    return empty - plain / links, max(hooked - plain, 0.0) / (links + 1)


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


def _tensors(value: Any) -> list[torch.Tensor]:
    from netcost.capture.specs import tensors_in

    return [t for t in tensors_in(value) if t.is_floating_point()]


def timings(
    run: Callable[[], Any], warmup: int, repeats: int, sync: Callable[[], None]
) -> list[float]:
    """Seconds of each of `repeats` runs after `warmup` unmeasured ones (synchronised)."""
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return times


def _timed(run: Callable[[], Any], warmup: int, repeats: int, sync: Callable[[], None]) -> float:
    return statistics.median(timings(run, warmup, repeats, sync))


def _per_layer(
    model: nn.Module,
    forward: Callable[[], Any],
    warmup: int,
    repeats: int,
    sync: Callable[[], None],
) -> tuple[float, float, tuple[tuple[str, int, float], ...]]:
    """(plain, hooked, layers): medians of forwards without hooks and with them, alternating, so
    that a slowdown of the machine during the run (a shared machine's neighbours) weighs on
    both alike; each call's median interval under the hooks."""
    names = {id(m): name for name, m in model.named_modules()}
    starts: list[tuple[int, float]] = []
    calls: dict[int, int] = defaultdict(int)
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)

    def pre(module: nn.Module, _args: Any) -> None:
        sync()
        starts.append((id(module), time.perf_counter()))

    def post(module: nn.Module, _args: Any, _out: Any) -> None:
        sync()
        key, start = starts.pop()
        number = calls[key]
        calls[key] += 1
        samples[(names.get(key, ""), number)].append(time.perf_counter() - start)

    def hooked() -> float:
        """One forward's seconds under the hooks (their registration is not timed)."""
        handles = []
        for m in model.modules():
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(post))
        try:
            calls.clear()
            return timings(forward, 0, 1, sync)[0]
        finally:
            for h in handles:
                h.remove()

    for _ in range(warmup):
        forward()
        hooked()
    samples.clear()
    plain: list[float] = []
    with_hooks: list[float] = []
    for _ in range(repeats):
        plain += timings(forward, 0, 1, sync)
        with_hooks.append(hooked())
    layers = tuple((path, n, statistics.median(s)) for (path, n), s in samples.items())
    return statistics.median(plain), statistics.median(with_hooks), layers
