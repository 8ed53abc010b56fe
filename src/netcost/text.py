"""Text forms of numbers, sizes, shapes and fields: shared by the explanations and every renderer
(formatting only, no arithmetic on costs)."""

from __future__ import annotations

from collections.abc import Iterable

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def count(n: int) -> str:
    """Exact, with thousands separators: 14112 -> '14,112'."""
    return f"{n:,}"


def counted(n: int, word: str, words: str) -> str:
    """'1 analysis', '6 analyses'."""
    return f"{count(n)} {word if n == 1 else words}"


def binary_size(n: int) -> str:
    """Bytes in binary units, named so: 1536 -> '1.50 KiB'."""
    value = float(n)
    for unit in _BINARY:
        if abs(value) < 1024 or unit == _BINARY[-1]:
            return f"{n} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def shape(s: Iterable[int] | None) -> str:
    """(64, 8, 7, 7) -> '64x8x7x7'; a scalar -> '()'; nothing -> '-'."""
    if s is None:
        return "-"
    s = tuple(s)
    return "x".join(map(str, s)) if s else "()"


def field(size: tuple, jump: tuple, exact: bool) -> str:
    """'7/2' (size 7, jump 2, every dim alike), '7x5/2x1', 'global' when every output position
    sees the same field; '~' marks a bound."""
    text = "global" if all(j == 0 for j in jump) else _alike(size) + "/" + _alike(jump)
    return text if exact else "~" + text


def _alike(values: tuple) -> str:
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else "x".join(shown)


def shapes(ss: Iterable[Iterable[int]]) -> str:
    ss = list(ss)
    return ", ".join(shape(s) for s in ss) if ss else "-"
