"""The one exception type netcost raises for anything the user can fix."""

from __future__ import annotations


class NetcostError(Exception):
    """A problem with the model, its inputs or the request, explained in one line.

    The message names the module path, the op and the shapes where they are known, and what to do.
    """
