"""Budget searches as the README runs them: how many analyses and how long each takes.

    python benchmarks/planning.py

Each row runs the CLI's search in this process (torch already imported) and prints the answer,
the analyses and the wall time. Issue 10's target: the README's resnet50 training search under
15 s on the development machine.
"""

from __future__ import annotations

import time

from netcost.cli import run

SEARCHES = (
    ("torchvision:resnet50", "-i", "64x3x224x224", "--train", "--memory-budget", "24GiB"),
    ("torchvision:resnet50", "--memory-budget", "16GiB"),
    ("torchvision:resnet18", "--train", "--memory-budget", "24GiB"),
    ("examples:simple_cnn", "--memory-budget", "1TiB"),
)


def main() -> None:
    print("| search | answer | analyses | seconds |")
    print("|---|---|---|---|")
    for argv in SEARCHES:
        start = time.perf_counter()
        text = run(list(argv))
        seconds = time.perf_counter() - start
        answer = text.split(": ", 1)[1].split(" (")[0]
        analyses = text.rsplit("; ", 1)[1].split()[0].strip("(")
        print(f"| `{' '.join(argv)}` | {answer} | {analyses} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
