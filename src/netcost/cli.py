"""netcost MODEL [--input SPEC ...] [--depth N] [--format ...]: parse, resolve, analyse, render."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netcost.errors import NetcostError

FORMATS = ("table", "json", "csv", "markdown")


def parser() -> argparse.ArgumentParser:
    from netcost.analysis.conventions import CONVENTIONS
    from netcost.examples import DEFAULT, EXAMPLES

    p = argparse.ArgumentParser(
        prog="netcost",
        description="What every layer of a PyTorch model costs: shapes, parameters, MACs, FLOPs "
        "and bytes moved, computed exactly on fake tensors.",
        epilog=f"Built-in examples: {', '.join(EXAMPLES)}. With no MODEL: examples:{DEFAULT}.",
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
        "-e",
        "--explain",
        nargs="?",
        const="",
        metavar="PATH",
        help="derive every number of every layer (or of the layer at PATH) with its values",
    )
    p.add_argument(
        "--convention",
        choices=list(CONVENTIONS),
        default="netcost",
        help="how FLOPs are counted: netcost (default), macs (= fvcore/thop/ptflops 'FLOPs'), "
        "torch (= FlopCounterMode)",
    )
    p.add_argument(
        "--execution",
        choices=("auto", "fake", "real"),
        default="auto",
        help="fake tensors (auto falls back to real CPU tensors for small models that need it)",
    )
    p.add_argument("-o", "--output", type=Path, help="write the result to this file")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def run(argv: list[str] | None = None) -> str:
    """Everything main() does, returning the text instead of printing it."""
    args = parser().parse_args(argv)
    if args.depth is not None and args.depth < 0:
        raise NetcostError("--depth must be 0 or more")
    from netcost.api import analyze
    from netcost.inputs import parse_input, shape_only
    from netcost.sources import resolve

    resolved = resolve(args.model)
    specs = tuple(args.input) if args.input else resolved.inputs
    if not specs:
        raise NetcostError(f"{args.model}: give its input shape, e.g. --input 1x3x224x224")
    tensors = [shape_only(*parse_input(s)) for s in specs]
    if resolved.kwarg_names and len(tensors) <= len(resolved.kwarg_names):
        inputs: object = dict(zip(resolved.kwarg_names, tensors, strict=False))
    else:
        inputs = tuple(tensors)
    report = analyze(resolved.model, inputs, convention=args.convention, execution=args.execution)
    if args.explain is not None:
        return report.explain(args.explain or None)
    return render(report, args.format, args.depth)


def render(report: object, fmt: str, depth: int | None) -> str:
    from netcost.render.csv import render_csv
    from netcost.render.json import render_json
    from netcost.render.markdown import render_markdown
    from netcost.render.table import render_table

    if fmt == "json":
        return render_json(report) + "\n"  # type: ignore[arg-type]
    if fmt == "csv":
        return render_csv(report, depth)  # type: ignore[arg-type]
    if fmt == "markdown":
        return render_markdown(report, depth)  # type: ignore[arg-type]
    return render_table(report, depth, width=_width())  # type: ignore[arg-type]


def _width() -> int:
    import shutil

    return max(80, shutil.get_terminal_size((120, 24)).columns)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        text = run(argv)
        options = parser().parse_args(argv)
        if options.output is not None:
            options.output.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    except NetcostError as error:
        if debug:
            raise
        print(f"netcost: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
