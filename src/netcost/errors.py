"""The exceptions netcost raises for anything the user can fix, each explained in one line.

NetcostError          every one of them (catch this one to catch them all)
├── UsageError        the request: an option, a flag combination, a name, an input spec,
│                     a device file or a formula netcost cannot take as given
├── ModelError        the model: building, importing or running it failed (its own error,
│                     or shapes its layers refuse), or it cannot do what was asked
│                     (nothing to train, not a language model)
└── UnsupportedError  what netcost cannot do here: an op its formula cannot cost, real
                      execution too large or too slow for this machine, a missing extra
"""

from __future__ import annotations


class NetcostError(Exception):
    """A problem with the model, its inputs or the request, explained in one line.

    The message names the module path, the op and the shapes where they are known, and what to do.
    """


class UsageError(NetcostError):
    """The request cannot be taken as given: what to write instead is in the message."""


class ModelError(NetcostError):
    """The model failed to build, import or run, or cannot do what was asked of it."""


class UnsupportedError(NetcostError):
    """netcost cannot do this here (an op it cannot cost, a run too large, a missing extra)."""
