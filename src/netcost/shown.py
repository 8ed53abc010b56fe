"""How results show in a notebook: `_repr_html_` as the same text as `str()` (the CLI's text),
in a <pre> block, for every result that has no richer page."""

from __future__ import annotations

from html import escape


class ShownAsText:
    def _repr_html_(self) -> str:
        return f"<pre>{escape(str(self))}</pre>"
