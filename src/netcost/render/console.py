"""A rich console that records text instead of printing it (for every rich renderer)."""

from __future__ import annotations

from rich.console import Console


class NullFile:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def recording_console(width: int) -> Console:
    return Console(width=width, record=True, file=NullFile(), color_system=None)
