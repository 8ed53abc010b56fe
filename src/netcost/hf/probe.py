"""How many feature vectors a model's method makes of some inputs, asked of the recorder alone.

Rules ask it to count a vision-language model's image tokens (`get_image_features`), to try an
input layout, or to read the count a model's own check reports. Each question is one capture on
fake tensors (capture/), no costing and no report, and each is asked once per model (memoised).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from math import prod
from typing import Any

import torch
from torch import nn

from netcost.hf.spec import Input


class Probe:
    """Counts the rows a method of a module returns, for one model and config."""

    def __init__(self, config: Any) -> None:
        self.config = config
        #: (module id, config id, method, inputs) -> (rows or None, the failure's message), inputs
        #: by shape, dtype and values; the module and config are kept with the answer, so that
        #: their ids stay theirs
        self._answers: dict[tuple[Any, ...], tuple[int | None, str, tuple[Any, ...]]] = {}

    def rows(
        self,
        module: nn.Module,
        method: str,
        given: Mapping[str, Input],
        errors: list[str] | None = None,
        config: Any = None,
    ) -> int | None:
        """How many feature vectors `module.<method>` makes of the `given` inputs it takes (its
        output's rows: every dim but the last, summed over outputs); None when it fails, its
        message then appended to `errors`. Values of `config` (the model's unless given) that the
        method takes by name are passed."""
        config = self.config if config is None else config
        params = inspect.signature(getattr(module, method)).parameters
        taken = {n: i for n, i in given.items() if n in params}
        inputs = tuple((n, i.shape, i.dtype, _content(i)) for n, i in taken.items())
        key = (id(module), id(config), method, *inputs)
        if key not in self._answers:
            rows, error = _ask(module, config, method, taken, params)
            self._answers[key] = (rows, error, (module, config))
        rows, error, _ = self._answers[key]
        if rows is None and errors is not None:
            errors.append(error)
        return rows


def _content(given: Input) -> bytes | None:
    """An input's values as bytes (they are small: ids, masks, sizes, one image), or None."""
    values = given.values
    return None if values is None else values.detach().cpu().contiguous().numpy().tobytes()


def _ask(
    module: nn.Module,
    config: Any,
    method: str,
    given: Mapping[str, Input],
    params: Mapping[str, Any],
) -> tuple[int | None, str]:
    """One capture of `module.<method>` on fake tensors: its output's rows, or the error."""
    from netcost.capture import capture

    options = {n: getattr(config, n) for n in params if n not in given and hasattr(config, n)}
    inputs = {n: i.tensor() for n, i in given.items()}
    try:
        with torch.no_grad():
            trace = capture(
                _Method(module, method, options), (), inputs,
                input_names=tuple(inputs), execution="fake",
            )  # fmt: skip
    except Exception as error:  # the model's own path will report what is wrong
        return None, str(error)
    rows = sum(prod(t.shape[:-1]) for t in trace.calls[0].outputs)
    return (rows or None), ""


class _Method(nn.Module):
    """A module whose forward is one method of the model, returning its features (the pooled
    output or last hidden state, where the method's output names them)."""

    def __init__(self, model: nn.Module, method: str, options: dict[str, Any]) -> None:
        super().__init__()
        self.model = model
        self.method = method
        self.options = options

    def forward(self, **tensors: torch.Tensor) -> Any:
        out = getattr(self.model, self.method)(**tensors, **self.options)
        for name in ("pooler_output", "last_hidden_state"):  # the features, where named
            if getattr(out, name, None) is not None:
                return getattr(out, name)
        return out
