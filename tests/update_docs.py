"""Rerun every command in docs/examples.md and write its current output under it (make docs)."""

from __future__ import annotations

import os
import re
import shlex

from netcost.cli import run
from test_docs import PAGE


def refresh(match: re.Match[str]) -> str:
    command = match.group(1)
    output = "\n".join(line.rstrip() for line in run(shlex.split(command)[1:]).splitlines())
    return f"```sh\n$ {command}\n```\n\n```text\n{output.rstrip()}\n```"


if __name__ == "__main__":
    import netcost.analysis.timing
    from netcost.gpu_tables import missing

    os.environ["COLUMNS"] = "120"
    # the page shows what every installation prints: no measured tables (netcost[gpu])
    netcost.analysis.timing.gpu_tables = lambda device: None  # type: ignore[assignment]
    netcost.analysis.timing.tables_missing = lambda device: missing(device, installed=False)
    pattern = r"```sh\n\$ (netcost[^\n]*)\n```\n\n```text\n(.*?)\n```"
    PAGE.write_text(re.sub(pattern, refresh, PAGE.read_text(), flags=re.S))
