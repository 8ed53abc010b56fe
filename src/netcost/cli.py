"""netcost MODEL [--input SPEC ...] [--depth N] [--format ...]: parse, resolve, analyse, render."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, cast

from netcost import __version__
from netcost.analysis.stages import MEASURES
from netcost.devices import KERNEL_VIEWS, KV_DTYPES, WEIGHT_DTYPES
from netcost.errors import NetcostError, UsageError
from netcost.flags import VIEWS
from netcost.render.styles import STYLES
from netcost.serving import ENGINES

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    import torch
    from torch import nn

    from netcost.report import Report
    from netcost.sources import Resolved

    Shaped = tuple[tuple[int, ...], torch.dtype]
    Inputs = tuple[torch.Tensor, ...] | dict[str, torch.Tensor]
    Analyzer = Callable[[Inputs], Report]

FORMATS = VIEWS["report"].formats  # every format some view renders


def _choice(kind: str, choices: Collection[str]) -> Callable[[str], str]:
    """An option's value checked as the API checks it (the same one-line message)."""
    from netcost.capture.precision import check_choice

    def parse(value: str) -> str:
        check_choice(kind, value, choices)
        return value

    return parse


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (the usage block only on --help)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def parser(spec: bool = False) -> argparse.ArgumentParser:
    from netcost.analysis.sharding import SHARDINGS
    from netcost.capture.precision import PRECISIONS
    from netcost.capture.training import OPTIMIZER_IMPLS, OPTIMIZERS
    from netcost.conventions import CONVENTIONS
    from netcost.examples import DEFAULT, EXAMPLES

    if spec:
        p = Parser(
            prog="netcost spec",
            description="Build an nn.Sequential from a layer list and analyse it, e.g. "
            '"Conv2d(1, 8, 5, stride=2, padding=2) ReLU conv(8, 16, k3, s2, p1) Flatten '
            'Linear(784, 10)" (grammar: docs/spec.md).',
        )
        p.add_argument("model", metavar="SPEC", help="the layer list, or a file holding it")
        p.add_argument(
            "-b",
            "--batch",
            type=int,
            help="batch size put in front of a one-sample --input (default 1)",
        )
    else:
        p = Parser(
            prog="netcost",
            description="What every layer of a PyTorch model costs: shapes, parameters, MACs, "
            "FLOPs and bytes moved, computed exactly on fake tensors.",
            epilog=f"Built-in examples: {', '.join(EXAMPLES)}. With no MODEL: "
            f"examples:{DEFAULT}. Layer lists: netcost spec --help. Side by side: netcost compare "
            "--help. Memory in detail: docs/memory.md.",
        )
        p.add_argument(
            "model",
            nargs="?",
            default=f"examples:{DEFAULT}",
            help="examples:NAME, torchvision:NAME, timm:NAME, hf:MODEL_TYPE[:key=value,...] "
            "or path/to/file.py:NAME",
        )
    p.add_argument(
        "-i",
        "--input",
        action="append",
        metavar="SPEC",
        help="an input's shape and dtype, e.g. 64x1x28x28 or 4x16:int64; repeat for several",
    )
    p.add_argument("-d", "--depth", type=int, default=None, help="show modules down to depth N")
    p.add_argument("-f", "--format", choices=FORMATS, default="table")
    p.add_argument(
        "--style",
        choices=("netcost", *STYLES),
        default="netcost",
        help="lay the table out like fastai's learn.summary() or Keras's model.summary()",
    )
    p.add_argument(
        "-e",
        "--explain",
        nargs="?",
        const="",
        metavar="PATH",
        help="derive every number of every layer (or of the layer at PATH) with its values",
    )
    p.add_argument(
        "--convention",
        type=_choice("convention", list(CONVENTIONS)),
        metavar="{" + ",".join(list(CONVENTIONS)) + "}",
        default="netcost",
        help="how FLOPs are counted: netcost (default), macs (= fvcore/thop/ptflops 'FLOPs'), "
        "torch (= FlopCounterMode)",
    )
    p.add_argument(
        "--execution",
        type=_choice("execution", ("auto", "fake", "real")),
        metavar="{" + ",".join(("auto", "fake", "real")) + "}",
        default="auto",
        help="fake tensors (auto falls back to real CPU tensors for small models that need it)",
    )
    p.add_argument(
        "-s",
        "--stages",
        nargs="?",
        type=int,
        const=1,
        metavar="DEPTH",
        help="where the compute goes: the calls at DEPTH (default 1, the model's children) with "
        "their shares of MACs, parameters, activations and bytes moved, and the heaviest layers",
    )
    p.add_argument("--top", type=int, help="with --stages: how many heaviest layers (default 5)")
    p.add_argument(
        "-m",
        "--memory",
        action="store_true",
        help="show memory: the inference peak and, with --train, a training step's",
    )
    p.add_argument(
        "--train",
        action="store_true",
        help="simulate one training step (forward, backward of the outputs' sum, optimizer step)",
    )
    p.add_argument(
        "--optimizer",
        type=_choice("optimizer", list(OPTIMIZERS)),
        metavar="{" + ",".join(list(OPTIMIZERS)) + "}",
        help="with --train: the step's optimizer (default adamw)",
    )
    p.add_argument(
        "--optimizer-impl",
        type=_choice("optimizer implementation", list(OPTIMIZER_IMPLS)),
        metavar="{" + ",".join(OPTIMIZER_IMPLS) + "}",
        help="with --train: how the optimizer step runs — foreach (PyTorch's default on GPUs; "
        "the default), forloop (one parameter at a time: PyTorch's default on the CPU, and the "
        "default with --device local on a CPU) or fused",
    )
    p.add_argument(
        "--precision",
        type=_choice("precision", list(PRECISIONS)),
        metavar="{" + ",".join(list(PRECISIONS)) + "}",
        default="fp32",
        help="fp32 (the model's own dtypes), autocast with fp32 weights (bf16-mixed, "
        "fp16-mixed), bf16 weights and inputs, or fp8-mixed (Transformer Engine's FP8 recipe: "
        "bf16-mixed with every GEMM on fp8 units, timed in the fused view); for the analysis "
        "and the training step",
    )
    p.add_argument(
        "--memory-budget",
        metavar="SIZE",
        help="find the largest batch whose peak (inference, or the training step's with --train) "
        "fits SIZE (e.g. 16GiB), verified by analysis at that batch",
    )
    p.add_argument("--gpus", type=int, help="with --train: memory per GPU for N GPUs")
    p.add_argument(
        "--sharding",
        type=_choice("sharding", SHARDINGS),
        metavar="{" + ",".join(SHARDINGS) + "}",
        help="with --gpus: ddp (default), ZeRO stage 1 or 2, or zero3 (= FSDP full sharding)",
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="also save per-layer bars and cumulative shares as FILE.png or FILE.svg (matplotlib)",
    )
    p.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write a self-contained HTML report (sortable tables, stages, plots)",
    )
    p.add_argument(
        "--device",
        metavar="NAME",
        help="time every layer on this device (roofline lower bound; `netcost devices` lists "
        "them) or on one of your own, FILE.toml",
    )
    p.add_argument(
        "--step-time",
        type=float,
        metavar="SECONDS",
        help="with --train --device: a measured training step's time, for its MFU",
    )
    p.add_argument(
        "--tokens-per-second",
        type=float,
        metavar="N",
        help="with --train --device: measured training throughput, for its MFU",
    )
    p.add_argument(
        "--train-tokens",
        type=float,
        metavar="D",
        help="with --train --device: how long D tokens take on --gpus devices at --mfu (or the "
        "measured MFU)",
    )
    p.add_argument("--mfu", type=float, help="with --train-tokens: the MFU to assume, e.g. 0.4")
    p.add_argument(
        "--generate",
        metavar="PROMPT:NEW[:BATCH]",
        help="a causal LM's or text encoder-decoder's generation: the prefill of PROMPT tokens "
        "and NEW − 1 decode steps through its own KV cache (hf: models are built with their LM "
        "head), for BATCH sequences",
    )
    p.add_argument(
        "--static-cache",
        action="store_const",
        const=True,
        default=None,
        help="with --generate: a static KV cache, allocated for PROMPT + NEW − 1 positions up "
        "front and attended whole at every step (default: the model's generation config)",
    )
    p.add_argument(
        "--weight-dtype",
        choices=WEIGHT_DTYPES,
        help="with --generate: serve the matrix weights at this width (fp8: W8A8 on fp8 units; "
        "int8/int4: weight-only)",
    )
    p.add_argument(
        "--kv-dtype", choices=KV_DTYPES, help="with --generate: the KV cache at this width"
    )
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="C",
        help="with --generate --device: C clients at fixed concurrency, each sending its next "
        "request when one returns, served by in-flight batching (netcost/serving.py): mean time "
        "to first token, per output token and per request, from the calibrated estimate, the "
        "clients apart (the time to first token of clients in step beside it)",
    )
    p.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        help="with --concurrency: the engine whose scheduling defaults to simulate (default "
        "trtllm; netcost/serving.py ENGINES)",
    )
    p.add_argument(
        "--token-budget",
        type=int,
        metavar="T",
        help="with --concurrency: the tokens one step may process (default: the engine's, 8192 "
        "for all three on an H100 or H200)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also run the model for real on this machine (CUDA if present, else CPU) and show "
        "each layer's measured time beside the prediction (--device, or local after "
        "`netcost calibrate`)",
    )
    p.add_argument(
        "--tf32-matmul",
        action="store_true",
        help="with --device: fp32 matrix products run as TF32 (torch.backends.cuda.matmul."
        "allow_tf32); convolutions always do, as cuDNN's default",
    )
    p.add_argument(
        "--kernels",
        choices=KERNEL_VIEWS,
        help="with --device: how the ops run — eager (one kernel per op, as PyTorch eager runs "
        "the code; the default on local) or fused (attention one kernel, the KV cache written "
        "in place, point-wise chains fused, as engines run it; the default on accelerators)",
    )
    p.add_argument("-o", "--output", type=Path, help="write the result to this file")
    p.add_argument("--width", type=int, help="columns of the text tables (default: the terminal's)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"netcost {__version__}")
    return p


def compare_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="netcost compare",
        description="Models (or one model at several inputs) side by side: totals and MACs per "
        "stage, with ratios and differences against the first. A model may carry its own "
        "inputs: torchvision:resnet50@1x3x448x448 (several: SPEC,SPEC).",
    )
    p.add_argument("models", nargs="+", metavar="MODEL[@INPUTS]")
    p.add_argument("-i", "--input", action="append", metavar="SPEC", help="inputs for every model")
    p.add_argument("-s", "--stages", type=int, default=1, metavar="DEPTH", help="stage depth")
    p.add_argument(
        "--measure",
        choices=MEASURES,
        default="macs",
        help="what the per-stage table compares (default macs)",
    )
    p.add_argument("-o", "--output", type=Path, help="write the result to this file")
    p.add_argument("--width", type=int, help="columns of the text tables (default: the terminal's)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    argv = _negative_inputs(argv)
    if argv and argv[0] == "compare":
        return compare_parser().parse_args(argv[1:])
    spec = bool(argv) and argv[0] == "spec"
    return parser(spec).parse_args(argv[1:] if spec else argv)


def _negative_inputs(argv: list[str]) -> list[str]:
    """`--input -1x3` is an input (refused by its parser with the reason), not an option."""
    out: list[str] = []
    for token in argv:
        if out and out[-1] in ("-i", "--input") and re.match(r"-\d", token):
            out[-1] = f"--input={token}"
        else:
            out.append(token)
    return out


def run(argv: list[str] | None = None) -> str:
    """Everything main() does, returning the text instead of printing it: a subcommand with its
    own arguments (SUBCOMMANDS), `compare`, or one analysis shown as the one view its flags
    select (flags.py), each view by its function (SHOWN)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    args = parse(argv)
    if argv and argv[0] == "compare":
        return _compare(args)
    if args.depth is not None and args.depth < 0:
        raise UsageError("--depth must be 0 or more")
    from netcost.flags import check

    view = check(args)
    if view == "generate":
        return _generate(args)
    resolved, shapes = _resolved(args)
    analyze_at = _analyzer(args, resolved)
    if view == "plan":
        return _plan(args.memory_budget, shapes, resolved, analyze_at, args.train)
    if view == "profile" and args.device is None:
        from netcost.measure.calibrate import cache_path

        if cache_path().is_file():  # predictions on this machine, as calibrated
            args.device = "local"
    report = analyze_at(resolved.example_inputs(shapes))
    if args.plot is not None:
        from netcost.render.plots import save_plot

        save_plot(report, args.plot)
    if args.html is not None:
        args.html.write_text(report.to_html(), encoding="utf-8")
    return SHOWN[view](args, report, resolved, shapes)


def _resolved(args: argparse.Namespace) -> tuple[Resolved, list[Shaped]]:
    """The model (a source, or a spec's layers) and its inputs' shapes and dtypes."""
    from netcost.inputs import parse_input

    is_spec = hasattr(args, "batch")  # `netcost spec`
    resolved = _resolve_spec(args) if is_spec else _resolve_model(args)
    specs = tuple(args.input) if args.input else resolved.inputs
    if not specs:
        raise UsageError(f"{args.model}: give its input shape, e.g. --input 1x3x224x224")
    shapes = [parse_input(s) for s in specs]
    if is_spec:  # a spec builds an nn.Sequential
        shapes = _spec_shapes(cast("nn.Sequential", resolved.model), shapes, args.batch)
    return resolved, shapes


def _analyzer(args: argparse.Namespace, resolved: Resolved) -> Analyzer:
    """The analysis the flags ask for, of the model at some inputs."""
    import torch

    from netcost.api import analyze

    def analyze_at(inputs: Inputs) -> Report:
        with torch.no_grad():  # inference: the kernels PyTorch picks under no_grad (fast paths)
            report = analyze(
                resolved.model,
                inputs,
                convention=args.convention,
                execution=args.execution,
                train=args.train,
                optimizer=args.optimizer or "adamw",
                optimizer_impl=args.optimizer_impl,
                precision=args.precision,
                device=args.device,
                tf32_matmul=args.tf32_matmul,
                kernels=args.kernels,
            )
        return _noted(report, resolved)

    return analyze_at


def _show_explain(args: argparse.Namespace, report: Report, *_: object) -> str:
    return report.explain(args.explain or None)


def _show_profile(
    args: argparse.Namespace, report: Report, resolved: Resolved, shapes: list[Shaped]
) -> str:
    return _profile(args, report, resolved.model, resolved.example_inputs(shapes))


def _show_style(args: argparse.Namespace, report: Report, *_: object) -> str:
    return STYLES[args.style](report)


def _show_stages(args: argparse.Namespace, report: Report, *_: object) -> str:
    from netcost.analysis.stages import stages
    from netcost.render.stages import render_stages

    top = 5 if args.top is None else args.top
    return render_stages(stages(report, args.stages, top), report.model, _width(args))


def _show_report(args: argparse.Namespace, report: Report, *_: object) -> str:
    return _report_view(args, report, memory=False)


def _show_memory(args: argparse.Namespace, report: Report, *_: object) -> str:
    return _report_view(args, report, memory=True)


def _report_view(args: argparse.Namespace, report: Report, memory: bool) -> str:
    """The report, or its memory (--memory, --train): with per-GPU shares and the step's
    economics where asked for; JSON holds both."""
    per_gpu = None
    if args.gpus is not None:
        from netcost.analysis.sharding import per_gpu as split

        per_gpu = split(report, args.gpus, args.sharding or "ddp")
    from netcost.analysis.economics import economics

    found = economics(
        report,
        step_time=args.step_time,
        tokens_per_second=args.tokens_per_second,
        train_tokens=int(args.train_tokens) if args.train_tokens is not None else None,
        devices=args.gpus or 1,
        mfu=args.mfu,
    )
    if args.format == "json":
        from netcost.render.json import render_json

        return render_json(report, per_gpu, found) + "\n"
    if memory:
        from netcost.render.memory import render_memory

        return render_memory(report, per_gpu, found)
    return render(report, args.format, args.depth, _width(args))


def _resolve_model(args: argparse.Namespace) -> Resolved:
    """The model to analyse: an hf: causal LM under --train with its LM head (as --generate
    builds it: the logits are part of every step), its default inputs the base model's."""
    from dataclasses import replace

    from netcost.sources import is_causal_lm, resolve

    if not (args.train and is_causal_lm(args.model)):
        return resolve(args.model)
    with_head = resolve(args.model, causal_lm=True)
    if args.input:
        return with_head
    base = resolve(args.model)
    return replace(
        with_head, inputs=base.inputs, kwarg_names=base.kwarg_names, values=base.values,
        notes=base.notes,
    )  # fmt: skip


def _check_serving(args: argparse.Namespace) -> None:
    """--concurrency's companions, before any analysis runs."""
    if args.memory or args.memory_budget is not None:
        raise UsageError("--concurrency does not apply to a serving plan (--memory): it serves "
                         "C clients at fixed concurrency")  # fmt: skip
    if args.device is None:
        raise UsageError("--concurrency times a server on a GPU: give --device, e.g. h100-sxm")
    if args.kernels == "eager":
        raise UsageError("--concurrency is timed as engines run the model: --kernels fused "
                         "(the default)")  # fmt: skip


def _generate(args: argparse.Namespace) -> str:
    """`--generate PROMPT:NEW[:BATCH]`: prefill, decode steps and the KV cache."""
    from netcost.generation import generate
    from netcost.sources import resolve

    parts = args.generate.split(":")
    try:
        prompt, new, *rest = (int(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"--generate {args.generate}: write PROMPT:NEW or PROMPT:NEW:BATCH, e.g. 2048:256"
        ) from None
    if len(rest) > 1:
        raise UsageError(f"--generate {args.generate}: at most PROMPT:NEW:BATCH")
    if args.memory and args.memory_budget is None and args.device is None:
        raise UsageError(
            "--generate with --memory plans a serving batch: give --device (its memory) or "
            "--memory-budget"
        )
    if args.concurrency is not None:
        _check_serving(args)
    resolved = resolve(args.model, causal_lm=True)
    if args.memory_budget is not None or (args.device is not None and args.memory):
        from netcost.generation import serving_plan
        from netcost.planning import parse_size

        budget = parse_size(args.memory_budget) if args.memory_budget is not None else None
        return str(
            serving_plan(
                resolved.model,
                prompt,
                new,
                budget,
                device=args.device,
                static_cache=args.static_cache,
                weight_dtype=args.weight_dtype,
                kv_dtype=args.kv_dtype,
            )
        )
    found = generate(
        resolved.model,
        prompt,
        new,
        rest[0] if rest else 1,
        device=args.device,
        name=args.model,
        static_cache=args.static_cache,
        kernels=args.kernels,
        weight_dtype=args.weight_dtype,
        kv_dtype=args.kv_dtype,
    )
    served = None
    if args.concurrency is not None:
        from dataclasses import replace

        from netcost.serving import serve

        scheduler = ENGINES[args.engine or "trtllm"]
        if args.token_budget is not None:
            scheduler = replace(scheduler, token_budget=args.token_budget)
        same = found.batch == 1 and not args.static_cache  # serve's own batch-1 analyses
        served = serve(
            resolved.model, prompt, new, args.concurrency, device=args.device,
            scheduler=scheduler, weight_dtype=args.weight_dtype, kv_dtype=args.kv_dtype,
            single=found if same else None,
        )  # fmt: skip
    if args.format == "json":
        import json

        data = {"model": args.model, "generation": found.to_dict()}
        if served is not None:
            data["serving"] = served.to_dict()
        return json.dumps(data, indent=2) + "\n"
    return str(found) + (str(served) if served is not None else "")


def _profile(args: argparse.Namespace, report: Report, model: nn.Module, inputs: object) -> str:
    """Measured per-layer times on this machine beside the report's predictions."""
    from netcost.measure.profile import profile
    from netcost.render.profile import render_profile

    peaks = [m.peak_bytes for m in (report.memory, report.training) if m is not None]
    measured = profile(model, inputs, train=args.train, predicted_peak=max(peaks, default=None))
    if args.format == "json":
        import json

        from netcost.render.json import report_to_dict

        data = report_to_dict(report) | {"profile": _profile_dict(measured)}
        return json.dumps(data, indent=2) + "\n"
    return render_profile(report, measured, args.depth, _width(args))


def _profile_dict(p: object) -> dict[str, object]:
    from dataclasses import asdict

    data = asdict(p)  # type: ignore[call-overload]
    data["layers"] = [{"path": a, "call": b, "seconds": c} for a, b, c in data["layers"]]
    return data


def _calibrate(argv: list[str]) -> str:
    """`netcost calibrate`: this machine's peaks, saved for `--device local`."""
    from netcost.measure.calibrate import calibrate

    if argv:
        raise UsageError("netcost calibrate takes no arguments")
    path, v = calibrate()
    c = v["calibration"]
    return (
        f"{v['name']}: matrix fp32 {v['matrix']['fp32'] * 1e3:.4g} GFLOP/s, bf16 "
        f"{v['matrix']['bf16'] * 1e3:.4g} GFLOP/s; vector fp32 {v['vector']['fp32'] * 1e3:.4g} "
        f"GFLOP/s; memory {v['bandwidth_gbs']:.4g} GB/s; {c['overhead_s'] * 1e6:.3g} µs per op.\n"
        f"Saved to {path}: use --device local (and --profile to compare with measured times).\n"
    )


def _devices(argv: list[str]) -> str:
    """`netcost devices`: the devices netcost knows, with their peaks and sources."""
    from netcost.devices import listing

    if argv:
        raise UsageError("netcost devices takes no arguments")
    return listing()


def _list(argv: list[str]) -> str:
    """`netcost list examples|torchvision|timm|hf [PATTERN]`: the names a source accepts."""
    from netcost.sources import SOURCES, names

    p = Parser(prog="netcost list", description="The model names a source accepts.")
    p.add_argument("source", choices=SOURCES)
    p.add_argument("pattern", nargs="?", default="", help="a part of the name, or a glob (*, ?)")
    args = p.parse_args(argv)
    found = names(args.source, args.pattern)
    if not found:
        raise UsageError(f"no {args.source} model matches {args.pattern!r}")
    return "".join(f"{args.source}:{n}\n" for n in found)


def _compare(args: argparse.Namespace) -> str:
    """`netcost compare A B ...`: each model analysed for inference, then side by side."""
    import torch

    from netcost.analysis.compare import compare
    from netcost.api import analyze
    from netcost.inputs import parse_input
    from netcost.sources import resolve

    if len(args.models) < 2:
        raise UsageError("compare needs two models or more")
    reports, labels = [], []
    for item in args.models:
        source, _, own = item.partition("@")
        resolved = resolve(source)
        specs = tuple(own.split(",")) if own else tuple(args.input or resolved.inputs)
        if not specs:
            raise UsageError(f"{source}: give its input shape, e.g. {source}@1x3x224x224")
        shapes = [parse_input(s) for s in specs]
        with torch.no_grad():
            report = analyze(resolved.model, resolved.example_inputs(shapes))
        reports.append(_noted(report, resolved))
        labels.append(f"{source} at {', '.join(specs)}")
    return compare(reports, labels, args.stages, args.measure).table(_width(args))


def _noted(report: Report, resolved: Resolved) -> Report:
    """The report with what the user should know about how its model was built first among
    its diagnostics."""
    from dataclasses import replace

    from netcost.report import Diagnostic

    notes = tuple(Diagnostic("config", note) for note in resolved.notes)
    return replace(report, diagnostics=notes + report.diagnostics) if notes else report


def _plan(
    budget_text: str,
    shapes: list[Shaped],
    resolved: Resolved,
    analyze_at: Analyzer,
    train: bool,
) -> str:
    """Every input's first dimension is the batch."""
    from netcost.planning import largest_batch, parse_size, peak_of
    from netcost.text import binary_size, count, counted

    budget = parse_size(budget_text)

    def at(batch: int) -> int:
        inputs = resolved.example_inputs([((batch, *s[1:]), d) for s, d in shapes])
        return peak_of(analyze_at(inputs), train)

    plan = largest_batch(at, budget)
    what = "a training step" if train else "inference"
    analyses = counted(plan.analyses, "analysis", "analyses")
    if plan.batch == 0:
        return (
            f"Not even batch 1 fits {binary_size(budget)} for {what}: its peak is "
            f"{binary_size(plan.peak)} ({analyses}).\n"
        )
    if plan.next_peak is None:
        return (
            f"Largest batch for {what} within {binary_size(budget)}: at least "
            f"{count(plan.batch)} (search limit; peak {binary_size(plan.peak)}; "
            f"{analyses}).\n"
        )
    return (
        f"Largest batch for {what} within {binary_size(budget)}: {count(plan.batch)} "
        f"(peak {binary_size(plan.peak)}; batch {count(plan.batch + 1)} would need "
        f"{binary_size(plan.next_peak)}; {analyses}).\n"
    )


def _resolve_spec(args: argparse.Namespace) -> Resolved:
    from netcost.sources import Resolved
    from netcost.spec import build

    if args.batch is not None and args.batch < 1:
        raise UsageError("--batch must be 1 or more")
    return Resolved(build(args.model).eval(), "spec", ())


def _spec_shapes(model: nn.Sequential, shapes: list[Shaped], batch: int | None) -> list[Shaped]:
    """A one-sample shape (as many dims as the first layer takes unbatched) gets the batch in
    front; then the layers are walked once to name the first that does not fit."""
    from netcost.spec import diagnose, sample_dims

    first = next(iter(model.children()), None)
    dims = sample_dims(first) if first is not None else None
    for shape, _ in shapes:
        if batch is not None and dims is not None and len(shape) != dims:
            raise UsageError(
                f"--batch puts a batch in front of a one-sample input ({dims} dims for "
                f"{type(first).__name__}); {'x'.join(map(str, shape))} is not one: drop --batch "
                "or give one sample"
            )
    shapes = [
        ((batch or 1, *shape), dtype) if dims == len(shape) else (shape, dtype)
        for shape, dtype in shapes
    ]
    problem = diagnose(model, shapes[0][0])
    if problem:
        raise UsageError(f"spec: {problem}")
    return shapes


def render(report: Report, fmt: str, depth: int | None, width: int = 120) -> str:
    from netcost.render.csv import render_csv
    from netcost.render.json import render_json
    from netcost.render.markdown import render_markdown
    from netcost.render.table import render_table

    if fmt == "json":
        return render_json(report) + "\n"
    if fmt == "csv":
        return render_csv(report, depth)
    if fmt == "markdown":
        return render_markdown(report, depth)
    return render_table(report, depth, width=width)


def _width(args: argparse.Namespace) -> int:
    """--width, or the terminal's (120 when piped), at least 80."""
    import shutil

    if args.width is not None:
        if args.width < 40:
            raise UsageError("--width must be 40 or more")
        return args.width
    return max(80, shutil.get_terminal_size((120, 24)).columns)


#: subcommands that take their own arguments: name -> what runs on the rest of the line
SUBCOMMANDS: dict[str, Callable[[list[str]], str]] = {
    "list": _list,
    "calibrate": _calibrate,
    "devices": _devices,
}
#: the views of one analysis (flags.VIEWS; the plan and generation are shown before one runs)
SHOWN: dict[str, Callable[[argparse.Namespace, Report, Resolved, list[Shaped]], str]] = {
    "explain": _show_explain,
    "profile": _show_profile,
    "style": _show_style,
    "stages": _show_stages,
    "memory": _show_memory,
    "report": _show_report,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        output = _output(argv)  # checked before the analysis, not after it
        with contextlib.redirect_stdout(sys.stderr):  # what the model prints is not the result
            text = run(argv)
        text = "\n".join(line.rstrip() for line in text.split("\n"))
        if output is not None:
            _write_atomically(output, text)
        else:
            _print(text)
        return 0
    except NetcostError as error:
        if debug:
            raise
        print(f"netcost: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in netcost or in the model: still one line
        if debug:
            raise
        first = (str(error).strip().splitlines() or [""])[0]
        print(
            f"netcost: error: {type(error).__name__}: {first} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def _output(argv: list[str]) -> Path | None:
    """The -o path, refused now if it cannot be written: a folder, or in no folder; --html and
    --plot files alike (checked before the analysis, not after it)."""
    if argv and argv[0] in ("list", "devices", "calibrate"):
        return None
    args = parse(argv)
    for flag in ("html", "plot"):
        extra = getattr(args, flag, None)
        if extra is not None:
            _writable(f"--{flag}", extra)
    if args.output is not None:
        _writable("-o", args.output)
    return args.output


def _writable(flag: str, path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"{flag} {path}: that is a folder; give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: there is no folder {path.parent}")


def _write_atomically(path: Path, text: str) -> None:
    """UTF-8 into a temporary file beside `path`, renamed over it only once complete: a failure
    leaves the old file as it was."""
    import os
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(temporary, _mode(path))  # mkstemp's 0600 is no one's choice
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode(path: Path) -> int:
    """The replaced file's permissions, else what the umask gives a new file."""
    import os

    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _print(text: str) -> None:
    """To stdout in its encoding; a console that cannot encode the tables' box drawing gets
    them in ASCII."""
    encoding = sys.stdout.encoding or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        from netcost.render.console import ascii_text

        text = ascii_text(text, encoding)
    sys.stdout.write(text)


if __name__ == "__main__":
    raise SystemExit(main())
