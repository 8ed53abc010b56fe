"""The zoo sweep: netcost over every model timm, torchvision and transformers list, as a user.

    python benchmarks/zoo.py                          # all three libraries (hours on 2 cores)
    python benchmarks/zoo.py --libs torchvision       # one library
    python benchmarks/zoo.py --libs hf --match moe    # names containing a word
    python benchmarks/zoo.py --summary                # the table from the results file alone

Each model runs in a worker subprocess (one per job, reused; killed and replaced when a model
overruns its time limit or crashes it), built the way the CLI builds it
(`torchvision:NAME`, `timm:NAME`, `hf:MODEL_TYPE`) at the CLI's default input. For each it
records: the outcome (complete, incomplete — an op named as not counted — or error, with its
one-line message), MACs and parameters, the parameters of the built model, MACs from
PyTorch's FlopCounterMode on the meta device at the same input (÷ 2; where that can run), and
whether the model was left untouched (no fake tensor reachable from any module, every
parameter and buffer the same object). Results go to benchmarks/zoo_results.jsonl, one line a
model; the summary (outcomes per library, agreement with FlopCounterMode, failure classes) is
printed and written to benchmarks/zoo_summary.md.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "zoo_results.jsonl"
SUMMARY = HERE / "zoo_summary.md"
LIBS = ("torchvision", "timm", "hf")


def names(lib: str) -> list[str]:
    if lib == "torchvision":
        from torchvision import models

        return [f"torchvision:{n}" for n in models.list_models()]
    if lib == "timm":
        import timm

        return [f"timm:{n}" for n in timm.list_models()]
    import transformers

    return [f"hf:{n}" for n in transformers.CONFIG_MAPPING]


def _tensors(model: Any) -> dict[str, Any]:
    """Every parameter, buffer and prepacked (quantized) weight object, by name."""
    from netcost.capture.state import packed_weights

    found: dict[str, Any] = dict(model.named_parameters(remove_duplicate=False))
    found |= dict(model.named_buffers(remove_duplicate=False))
    found |= dict(packed_weights(model))
    return found


def _packed_numel(model: Any) -> int:
    """Parameters held in quantized layers' prepacked weights (not nn.Parameters)."""
    from netcost.capture.state import packed_weights

    total = 0
    for _, packed in packed_weights(model):
        total += sum(t.numel() for t in packed.unpack() if t is not None)
    return total


def _fake_tensors_reachable(model: Any) -> bool:
    from torch._subclasses.fake_tensor import FakeTensor

    seen: set[int] = set()
    todo: list[tuple[Any, int]] = [(m, 0) for m in model.modules()]
    while todo:
        obj, depth = todo.pop()
        if id(obj) in seen or depth > 6:
            continue
        seen.add(id(obj))
        if isinstance(obj, FakeTensor):
            return True
        if isinstance(obj, dict):
            todo += [(v, depth + 1) for v in obj.values()]
        elif isinstance(obj, list | tuple | set):
            todo += [(v, depth + 1) for v in obj]
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            todo += [(v, depth + 1) for v in vars(obj).values()]
    return False


def one(source: str) -> dict[str, Any]:
    """Analyse one model (runs in the worker subprocess)."""
    import torch

    import netcost
    from netcost.errors import NetcostError
    from netcost.inputs import parse_input
    from netcost.sources import resolve

    row: dict[str, Any] = {"source": source}
    start = time.perf_counter()
    try:
        resolved = resolve(source)
    except NetcostError as error:
        return row | {"outcome": "build_error", "error": str(error)}
    except Exception as error:
        return row | {"outcome": "build_error", "error": f"{type(error).__name__}: {error}"}
    model = resolved.model
    row["built_params"] = sum(p.numel() for p in model.parameters()) + _packed_numel(model)
    state = _tensors(model)
    shapes = [parse_input(s) for s in resolved.inputs]
    inputs = resolved.example_inputs(shapes)  # as the CLI feeds it
    try:
        with torch.no_grad():
            report = netcost.analyze(model, inputs)
    except NetcostError as error:
        return row | {"outcome": "error", "error": str(error), "plain": _plain(model, inputs)}
    except Exception as error:
        message = f"unexpected {type(error).__name__}: {error}"
        return row | {"outcome": "error", "error": message, "plain": _plain(model, inputs)}
    row["seconds"] = round(time.perf_counter() - start, 2)
    after = _tensors(model)
    row["untouched"] = after.keys() == state.keys() and all(after[k] is v for k, v in state.items())
    row["untouched"] = row["untouched"] and not _fake_tensors_reachable(model)
    row |= {
        "outcome": "complete" if report.complete else "incomplete",
        "macs": report.total.cost.macs,
        "params": report.total.params,
        "execution": report.execution,
        "uncounted": sorted({d.op for d in report.diagnostics if d.kind == "uncounted_op"}),
        "scenario": any(d.kind == "scenario" for d in report.diagnostics),
    }
    if resolved.notes:  # a default config netcost had to mend (said in the report)
        row["notes"] = list(resolved.notes)
    row["inputs"] = dict(zip(resolved.kwarg_names, resolved.inputs, strict=False)) or list(
        resolved.inputs
    )
    before = _previous().get(source, {})
    same_inputs = before.get("inputs", row["inputs"]) == row["inputs"]  # older rows lack them
    if same_inputs and before.get("macs") == row["macs"] and "flopcounter_macs" in before:
        row["flopcounter_macs"] = before.get("flopcounter_macs")  # same model, same inputs
    else:
        row["flopcounter_macs"] = _flop_counter(model, inputs)
    return row


_PREVIOUS: dict[str, dict[str, Any]] | None = None


def _previous() -> dict[str, dict[str, Any]]:
    """Rows of an earlier sweep (ZOO_PREVIOUS names its results file), by source: where a model
    gets the same inputs and MACs again, its FlopCounterMode figure is reused, not re-run."""
    global _PREVIOUS
    if _PREVIOUS is None:
        path = os.environ.get("ZOO_PREVIOUS")
        lines = Path(path).read_text().splitlines() if path else []
        _PREVIOUS = {row["source"]: row for row in map(json.loads, filter(None, lines))}
    return _PREVIOUS


def _on_meta(model: Any, inputs: Any, context: Any = None) -> None:
    """The model's own forward on the meta device at these inputs, under `context` if given."""
    import contextlib

    import torch
    from torch.utils._pytree import tree_map

    def meta(t: Any) -> Any:
        return t.to("meta") if isinstance(t, torch.Tensor) else t

    model = model.to("meta")
    args, kwargs = (inputs, {}) if not isinstance(inputs, dict) else ((), inputs)
    args = args if isinstance(args, tuple) else (args,)
    with torch.no_grad(), context or contextlib.nullcontext():
        model(*tree_map(meta, args), **tree_map(meta, kwargs))


def _plain(model: Any, inputs: Any) -> str | None:
    """The model's own forward on the meta device at the same inputs, without netcost: None
    when it runs, else its error's first line. Where it fails with netcost's error, the model
    (its default config, or the default inputs) fails by itself; values are lost on meta, so
    value-dependent code fails there whatever netcost does."""
    try:
        _on_meta(model, inputs)
        return None
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]


def _flop_counter(model: Any, inputs: Any) -> int | None:
    """PyTorch's FlopCounterMode on the meta device, ÷ 2; None where it cannot run."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    try:
        _on_meta(model, inputs, counter)
    except Exception:
        return None
    return counter.get_total_flops() // 2


class Worker:
    """One long-lived worker process (imports once), fed one model at a time; killed and
    replaced when a model overruns its time limit or crashes the process."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()

    def _start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.lines = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                if line.startswith("{"):
                    self.lines.put(line)
            self.lines.put(None)  # the process ended

        threading.Thread(target=read, daemon=True).start()

    def run(self, source: str, timeout: int) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self._start()
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(source + "\n")
        self.process.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return {"source": source, "outcome": "timeout", "error": f"over {timeout} s"}
        if line is None:
            self.process = None
            return {"source": source, "outcome": "crash", "error": "the process died"}
        return json.loads(line)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def sweep(sources: list[str], timeout: int, jobs: int) -> None:
    done = set()
    if RESULTS.exists():
        done = {json.loads(line)["source"] for line in RESULTS.read_text().splitlines() if line}
    todo = [s for s in sources if s not in done]
    print(f"{len(todo)} to run ({len(done)} already in {RESULTS.name})", file=sys.stderr)
    work: queue.Queue[str] = queue.Queue()
    for source in todo:
        work.put(source)
    lock = threading.Lock()
    count = [0]

    def serve() -> None:
        worker = Worker()
        while True:
            try:
                source = work.get_nowait()
            except queue.Empty:
                break
            row = worker.run(source, timeout)
            with lock, RESULTS.open("a") as results:
                results.write(json.dumps(row) + "\n")
                count[0] += 1
                print(f"[{count[0]}/{len(todo)}] {source}: {row['outcome']}", file=sys.stderr)
        worker.stop()

    threads = [threading.Thread(target=serve) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def serve_stdin() -> None:
    """The worker: one source per input line, one JSON result per output line."""
    import contextlib
    import gc
    import io

    for line in sys.stdin:
        source = line.strip()
        if not source:
            continue
        with contextlib.redirect_stdout(io.StringIO()):  # what a model prints stays out
            try:
                row = one(source)
            except BaseException as error:  # a sweep records every failure
                row = {"source": source, "outcome": "crash", "error": repr(error)[:300]}
        print(json.dumps(row), flush=True)
        gc.collect()


def _class(error: str) -> str:
    """A failure class: the message with names, numbers and shapes blanked."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", error)
    text = re.sub(r"\b[\w.]+ \([\w]+\): ", "LAYER: ", text)
    text = re.sub(r"\d+", "N", text)
    return text[:110]


def _fails_alone(row: dict[str, Any]) -> bool:
    """Whether the model's own forward on meta failed as netcost reported: the same message
    (PyTorch words a convolution's channel mismatch differently on meta)."""
    plain = row.get("plain")
    if not plain:
        return False
    message = plain.split(": ", 1)[-1][:50]
    if message in row["error"]:
        return True
    return "Invalid channel dimensions" in plain and "aten.convolution" in row["error"]


def summary() -> str:
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line]
    lines = [
        "| library | models | complete | incomplete | errors | untouched | MACs = FlopCounterMode"
        " | MACs ≠ | params = built |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    failures: Counter[tuple[str, str]] = Counter()
    uncounted: Counter[str] = Counter()
    for lib in LIBS:
        mine = [r for r in rows if r["source"].split(":")[0] == lib]
        if not mine:
            continue
        outcomes = Counter(r["outcome"] for r in mine)
        ran = [r for r in mine if r["outcome"] in ("complete", "incomplete")]
        compared = [r for r in ran if r.get("flopcounter_macs") is not None]
        equal = sum(r["macs"] == r["flopcounter_macs"] for r in compared)
        errors = sum(n for o, n in outcomes.items() if o not in ("complete", "incomplete"))
        lines.append(
            f"| {lib} | {len(mine)} | {outcomes['complete']} | {outcomes['incomplete']} | "
            f"{errors} | {sum(bool(r.get('untouched')) for r in ran)}/{len(ran)} | "
            f"{equal}/{len(compared)} | {len(compared) - equal} | "
            f"{sum(r['params'] == r['built_params'] for r in ran)}/{len(ran)} |"
        )
        for r in mine:
            if r["outcome"] not in ("complete", "incomplete"):
                failures[(lib, f"{r['outcome']}: {_class(r.get('error', ''))}")] += 1
            for op in r.get("uncounted", []):
                uncounted[f"{lib}: {op}"] += 1
    lines += ["", "MACs that differ from FlopCounterMode (÷ 2), by direction:", ""]
    for lib in LIBS:
        mine = [
            r
            for r in rows
            if r["source"].split(":")[0] == lib
            and r.get("flopcounter_macs") is not None
            and r.get("macs") is not None
            and r["macs"] != r["flopcounter_macs"]
        ]
        lower = [r for r in mine if r["macs"] < r["flopcounter_macs"]]
        higher = [r for r in mine if r["macs"] > r["flopcounter_macs"]]
        if mine:
            ratios = [r["macs"] / r["flopcounter_macs"] for r in lower]
            span = f" (ratio {min(ratios):.4f}–{max(ratios):.4f})" if ratios else ""
            lines.append(f"- {lib}: {len(lower)} lower{span}, {len(higher)} higher")
            lines += [
                f"  - higher: {r['source']} {r['macs']:,} vs {r['flopcounter_macs']:,}"
                for r in higher
            ]
    mended = [r for r in rows if r.get("notes")]
    lines += ["", f"Analysed with a mended default config (the report says so): {len(mended)}:", ""]
    lines += [
        f"- {r['source']}: {r['notes'][0].partition('(')[2].partition(')')[0]}" for r in mended
    ]
    errors = [r for r in rows if r["outcome"] == "error"]
    alone = [r for r in errors if _fails_alone(r)]
    lines += [
        "",
        f"Errors the model raises by itself (its own forward on meta, without netcost, fails the "
        f"same way): {len(alone)} of {len(errors)}:",
        "",
        *[f"- {r['source']}: {r['plain']}" for r in alone],
        "",
        f"Errors only under netcost (or where meta cannot tell): {len(errors) - len(alone)}:",
        "",
        *[f"- {r['source']}: {r['error'][:160]}" for r in errors if r not in alone],
    ]
    lines += ["", "Failure classes (count, library, message with names and numbers blanked):", ""]
    lines += [f"- {n} × {lib}: {text}" for (lib, text), n in failures.most_common()]
    lines += ["", "Ops named as not counted (models):", ""]
    lines += [f"- {n} × {op}" for op, n in uncounted.most_common()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--libs", default=",".join(LIBS))
    parser.add_argument("--match", default="", help="only names containing this")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per model")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--summary", action="store_true", help="only print the summary")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    if args.worker:
        serve_stdin()
        return
    if not args.summary:
        sources = [s for lib in args.libs.split(",") for s in names(lib) if args.match in s]
        sweep(sources, args.timeout, args.jobs)
    text = summary()
    SUMMARY.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
