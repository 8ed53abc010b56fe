"""The inputs `hf:` gives every transformers model type: names, specs, a digest of each value,
and notes — the guard for a change to netcost/hf/ (docs/architecture.md).

    python benchmarks/hf_inputs.py --out before.jsonl            # on the old code
    python benchmarks/hf_inputs.py --out after.jsonl --against before.jsonl

Each type is resolved in one of `--jobs` worker processes (no analysis: inputs only), 300 s at
most; a row records what `resolve` chose or the error it raised. `--against` prints every type
whose inputs differ from the earlier file and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

KEYS = ("names", "specs", "values", "notes", "error")


def one(source: str) -> dict[str, Any]:
    """What `resolve(source)` feeds the model."""
    from netcost.sources import resolve

    row: dict[str, Any] = {"source": source}
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            resolved = resolve(source)
        row["names"] = list(resolved.kwarg_names)
        row["specs"] = list(resolved.inputs)
        row["values"] = {
            name: [list(v.shape), str(v.dtype), _digest(v)]
            for name, v in sorted(resolved.values.items())
        }
        row["notes"] = list(resolved.notes)
    except TimeoutError:
        row["error"] = "timed out"
    except Exception as error:
        row["error"] = f"{type(error).__name__}: {str(error)[:300]}"
    row["seconds"] = round(time.perf_counter() - start, 2)
    return row


def _digest(t: Any) -> str:
    try:
        return hashlib.sha1(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:12]
    except Exception:  # a tensor numpy cannot read
        return "unreadable:" + type(t).__name__


def _alarm(*_: Any) -> None:
    raise TimeoutError


def worker(out: Path, sources: list[str]) -> None:
    warnings.filterwarnings("ignore")
    signal.signal(signal.SIGALRM, _alarm)
    with out.open("a") as f:
        for source in sources:
            signal.alarm(300)
            try:
                row = one(source)
            finally:
                signal.alarm(0)
            f.write(json.dumps(row) + "\n")
            f.flush()


def _rows(path: Path) -> dict[str, dict[str, Any]]:
    rows = (json.loads(line) for line in path.read_text().splitlines() if line)
    return {r["source"]: r for r in rows}


def compare(before: Path, after: Path) -> int:
    old, new = _rows(before), _rows(after)
    differ = [s for s in sorted(new) if any(old.get(s, {}).get(k) != new[s].get(k) for k in KEYS)]
    for source in differ:
        print(source)
        for key in KEYS:
            was, now = old.get(source, {}).get(key), new[source].get(key)
            if was != now:
                print(f"    {key}: {was!r} -> {now!r}")
    print(f"{len(new) - len(differ)} of {len(new)} types get the same inputs; {len(differ)} differ")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--against", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--match", default="", help="only types containing this")
    parser.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.out, args.worker)
        return
    import transformers

    sources = [f"hf:{t}" for t in sorted(transformers.CONFIG_MAPPING.keys()) if args.match in t]
    args.out.unlink(missing_ok=True)
    parts = [args.out.with_suffix(f".{i}.part") for i in range(args.jobs)]
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--out", str(part), "--worker", *sources[i :: args.jobs]]
        )
        for i, part in enumerate(parts)
    ]
    for w in workers:
        w.wait()
    rows = [line for part in parts if part.exists() for line in part.read_text().splitlines()]
    args.out.write_text("\n".join(sorted(rows, key=lambda r: json.loads(r)["source"])) + "\n")
    for part in parts:
        part.unlink(missing_ok=True)
    print(f"{len(rows)} types -> {args.out}")
    if args.against:
        sys.exit(compare(args.against, args.out))


if __name__ == "__main__":
    main()
