"""Which command-line flags go together: one table of views, and the flags that only modify
another. A combination the table does not allow is a one-line error naming both flags, never a
flag silently ignored.

A run shows one view: the plan (--memory-budget), the derivations (--explain), the stages
(--stages), another library's layout (--style), memory (--memory, or --train alone) or the
report (the default). Each view renders in the formats it lists.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from netcost.errors import UsageError


@dataclass(frozen=True)
class View:
    flag: str  # the flag that selects it ("" for the report)
    what: str
    formats: tuple[str, ...]
    depth: bool = False  # whether --depth applies
    train: bool = False  # whether --train applies (the step's memory)


VIEWS = {
    "plan": View("--memory-budget", "the largest batch", ("table",), train=True),
    "explain": View("--explain", "each layer's derivations", ("table",)),
    "stages": View("--stages", "where the compute goes", ("table",)),
    "style": View("--style", "another library's table", ("table",)),
    "memory": View("--memory", "memory", ("table", "json"), train=True),
    "profile": View("--profile", "measured times", ("table", "json"), depth=True, train=True),
    "generate": View("--generate", "generation", ("table", "json")),
    "report": View("", "the report", ("table", "json", "csv", "markdown"), depth=True),
}

#: flag -> (the flag it modifies, the attribute that says that flag was given)
NEEDS = {
    "--top": ("--stages", "stages"),
    "--optimizer": ("--train", "train"),
    "--optimizer-impl": ("--train", "train"),
    "--gpus": ("--train", "train"),
    "--sharding": ("--gpus", "gpus"),
    "--step-time": ("--train", "train"),
    "--tokens-per-second": ("--train", "train"),
    "--train-tokens": ("--train", "train"),
    "--mfu": ("--train-tokens", "train_tokens"),
    "--static-cache": ("--generate", "generate"),
    "--kernels": ("--device", "device"),
    "--weight-dtype": ("--generate", "generate"),
    "--kv-dtype": ("--generate", "generate"),
    "--concurrency": ("--generate", "generate"),
    "--token-budget": ("--concurrency", "concurrency"),
    "--engine": ("--concurrency", "concurrency"),
}


def selected(args: argparse.Namespace) -> list[str]:
    """The views the flags ask for (more than one is an error)."""
    chosen = [
        name
        for name, given in (
            ("plan", args.memory_budget is not None),
            ("explain", args.explain is not None),
            ("stages", args.stages is not None),
            ("style", args.style not in (None, "netcost")),
            ("memory", args.memory),
            ("profile", getattr(args, "profile", False)),
            ("generate", getattr(args, "generate", None) is not None),
        )
        if given
    ]
    if args.train and not chosen:
        chosen = ["memory"]  # --train alone shows the step's memory
    return chosen or ["report"]


def check(args: argparse.Namespace) -> str:
    """The view to show, after refusing every combination the table does not allow."""
    views = selected(args)
    if getattr(args, "generate", None) is not None:  # a serving plan: the budget or --memory
        views = [v for v in views if v not in ("plan", "memory")]
    if len(views) > 1:
        first, second = (VIEWS[v] for v in views[:2])
        raise UsageError(
            f"{first.flag} and {second.flag} are two views ({first.what}, {second.what}): give one"
        )
    view = VIEWS[views[0]]
    name = "--train" if views[0] == "memory" and not args.memory else view.flag or "the report"
    if args.format not in (None, "table") and args.format not in view.formats:
        raise UsageError(
            f"--format {args.format} cannot show {name}; it shows as {' or '.join(view.formats)}"
        )
    if args.depth is not None and not (view.depth and args.format != "json"):
        shown = f"--format {args.format}" if view.depth else view.flag
        raise UsageError(f"--depth does not apply to {shown}: it limits the table's rows")
    if args.train and not view.train:
        raise UsageError(f"--train does not apply to {view.flag}: it shows the forward only")
    for flag, (needed, attribute) in NEEDS.items():
        if getattr(
            args, flag.removeprefix("--").replace("-", "_"), None
        ) is not None and not getattr(args, attribute):
            raise UsageError(f"{flag} needs {needed}")
    timed = ("report", "memory", "profile", "generate")
    if getattr(args, "device", None) is not None and views[0] not in timed:
        raise UsageError(f"--device does not apply to {view.flag}: it times the report")
    if getattr(args, "device", None) is not None and args.format == "csv":
        raise UsageError("--device does not apply to --format csv: use json or markdown")
    if getattr(args, "tf32_matmul", False) and getattr(args, "device", None) is None:
        raise UsageError("--tf32-matmul needs --device")
    if args.memory_budget is not None and (args.plot or args.html):
        raise UsageError("--plot and --html show one report: --memory-budget analyses many")
    return views[0]
