"""Warnings about window arithmetic that learners trip over: floor division dropping input,
ceil-mode windows overhanging the input, outputs that read only padding."""

from __future__ import annotations

from netcost.analysis.geometry import Window, dim_names, windows
from netcost.report import OpRecord

# What the last positions along each dimension are called, for the message.
_ENDS = {"L": ("position", "end"), "D": ("slice", "back"), "H": ("row", "bottom"),
         "W": ("column", "right")}  # fmt: skip


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _fraction(w: Window) -> str:
    exact = w.exact
    shown = f"{float(exact):g}"
    return (
        f"({w.size} + 2·{w.padding} − {w.span}) / {w.stride} + 1 = {shown}"
        if w.dilation == 1
        else f"({w.size} + 2·{w.padding} − {w.dilation}·({w.kernel} − 1) − 1) / {w.stride} + 1"
        f" = {shown}"
    )


def warnings_for(record: OpRecord) -> list[str]:
    """Plain-language warnings for one conv or pool op (empty when its arithmetic is exact).
    Dimensions with the same geometry share one message ("H and W: ...")."""
    geometry = windows(record)
    if not geometry or any(w.transposed for w in geometry):
        return []
    groups: dict[Window, list[str]] = {}
    for name, w in zip(dim_names(len(geometry)), geometry, strict=True):
        groups.setdefault(w, []).append(name)
    found: list[str] = []
    dropped = [(names, w) for w, names in groups.items() if w.dropped]
    if dropped:
        sums = "; ".join(f"{' and '.join(n)}: {_fraction(w)} → {w.out}" for n, w in dropped)
        parts = [
            f"the last {_plural(w.dropped, _ENDS[name][0])} ({_ENDS[name][1]})"
            for names, w in dropped
            for name in names
        ]
        found.append(f"{sums}: {' and '.join(parts)} of the input are never read")
    for w, names in groups.items():
        where = " and ".join(names)
        if w.gap:
            skipped = [i for i in w.unread() if i < w.size - w.dropped]
            found.append(
                f"{where}: stride {w.stride} > kernel reach {w.span}: {w.gap} of every "
                f"{w.stride} positions {'are' if w.gap > 1 else 'is'} skipped between windows, "
                f"{len(skipped)} of {w.size} never read"
            )
        if w.overhang:
            found.append(
                f"{where}: ceil_mode makes {_fraction(w)} → {w.out}: the last window overhangs "
                f"the padded input by {w.overhang} and reads {w.span - w.overhang} of its "
                f"{w.span} positions"
            )
        only = w.padding_only_outputs()
        if only:
            found.append(
                f"{where}: {_plural(only, 'output')} of {w.out} read only padding (padding "
                f"{w.padding}, kernel {w.kernel}): they see no input at all"
            )
    return found
