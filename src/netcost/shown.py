"""How results show: `str()` is the text the command line prints, rendered by the renderer
registered for the result's type (render/shown.py), so that no result type imports a renderer
to show itself; in a notebook, `_repr_html_` is that text in a <pre> block for every result
that has no richer page."""

from __future__ import annotations

from html import escape


class ShownAsText:
    def __str__(self) -> str:
        from netcost.render.shown import as_text

        return as_text(self)

    def _repr_html_(self) -> str:
        return f"<pre>{escape(str(self))}</pre>"
