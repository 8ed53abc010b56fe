"""Rich helpers shared by the renderers: tables sized to their cells (numbers are never cut) and
a console that records text instead of printing it."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


class NullFile(io.StringIO):
    """A text sink that keeps nothing."""

    def write(self, _: str) -> int:
        return 0


def recording_console(width: int) -> Console:
    """Records text, prints nothing: in a notebook too (rich would display what it prints
    there, so a value would show twice and `str()` would show at all)."""
    return Console(
        width=width, record=True, file=NullFile(), color_system=None, force_jupyter=False
    )


def measuring_console() -> Console:
    """Measures renderables' widths; prints nothing, in a notebook too."""
    return Console(width=10_000, file=NullFile(), force_jupyter=False)


def fitted_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    left: int = 1,
    bold_last: bool = False,
) -> Table:
    """A table whose columns are at least as wide as their widest cell; the first `left`
    columns are left-aligned text, the rest right-aligned numbers."""
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(headers):
        widest = max([len(name)] + [len(r[i]) for r in rows])
        table.add_column(
            name, justify="left" if i < left else "right", no_wrap=True, min_width=widest
        )
    for n, row in enumerate(rows):
        table.add_row(*row, style="bold" if bold_last and n == len(rows) - 1 else None)
    return table


def exported(console: Console) -> str:
    """A recording console's text, without the spaces rich pads lines with."""
    return "\n".join(line.rstrip() for line in console.export_text().split("\n"))


def render_text(parts: Sequence[Table | str], width: int) -> str:
    """Tables and lines as text, `width` columns wide or as wide as the widest table needs."""
    measure = measuring_console()
    needed = max((measure.measure(p).minimum for p in parts if isinstance(p, Table)), default=width)
    console = recording_console(max(width, needed))
    for part in parts:
        if isinstance(part, Table):
            console.print(part)
        else:
            console.print(part, highlight=False, markup=False)
    return exported(console)


#: Characters netcost's text uses beyond ASCII, for a console that cannot encode them.
ASCII = {
    "×": "x",
    "·": "*",
    "−": "-",
    "…": "...",
    "²": "^2",
    "³": "^3",
    "≈": "~",
    "≤": "<=",
    "≥": ">=",
    "→": "->",
    "←": "<-",
    "Σ": "sum ",
    "⌊": "floor(",
    "⌋": ")",
    "⌈": "ceil(",
    "⌉": ")",
    "√": "sqrt",
    "µ": "u",
    "—": "--",
    "–": "-",
    "’": "'",
    "“": '"',
    "”": '"',
}


def _box(char: str) -> str:
    import unicodedata

    name = unicodedata.name(char, "")
    if not name.startswith("BOX DRAWINGS"):
        return ASCII.get(char, char)
    bends = any(w in name for w in ("DOWN", "UP", "LEFT", "RIGHT"))
    if name.endswith("HORIZONTAL") and "VERTICAL" not in name and not bends:
        return "-"
    if name.endswith("VERTICAL") and "HORIZONTAL" not in name and not bends:
        return "|"
    return "+"


def ascii_text(text: str, encoding: str = "ascii") -> str:
    """`text` for a console of `encoding`: box drawing as + - |, the signs netcost uses spelt
    out, anything else the encoding lacks as ?."""
    out = "".join(_box(c) if ord(c) > 127 else c for c in text)
    return out.encode(encoding, errors="replace").decode(encoding)
