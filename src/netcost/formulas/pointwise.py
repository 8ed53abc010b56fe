"""Element-wise arithmetic and activations: FLOPs per output element, no MACs.

One FLOP per output element for every element-wise function, whatever it computes (add, compare,
relu, exp, tanh and gelu alike: a transcendental counts as one); compound ops count their steps,
listed below. In-place (`add_`) and out-of-place forms cost the same.
"""

from __future__ import annotations

from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel
from netcost.ops import aten, has

ONE_FLOP = """
abs neg sign sgn exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal square
sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh sinc erf erfc erfinv
ceil floor round trunc frac clamp clamp_min clamp_max clip nan_to_num isnan isinf isfinite
sigmoid logit relu relu6 gelu silu mish elu selu celu leaky_relu rrelu hardswish hardsigmoid
hardtanh hardshrink softshrink softplus threshold logical_not bitwise_not
add sub rsub mul div true_divide floor_divide remainder fmod pow maximum minimum fmax fmin
atan2 hypot copysign xlogy eq ne lt le gt ge logical_and logical_or logical_xor
bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift
where masked_fill _prelu_kernel prelu heaviside
"""

COMPOUND = {
    "addcmul": 2,  # t · u, + input (× value counted as part of the multiply)
    "addcdiv": 2,  # t / u, + input
    "lerp": 3,  # a + w · (b − a): subtract, multiply, add
    "native_dropout": 2,  # draw-and-compare for the mask, multiply by mask · 1/(1 − p)
    "glu": 2,  # sigmoid of one half, multiply with the other: per output element
    "softplus_backward": 3,
}


def _pointwise(flops: int) -> Any:
    def pointwise(*, out: Any, **_: object) -> Cost:
        return Cost.elementwise(numel(first(out)), flops)

    pointwise.__doc__ = f"{flops} FLOP{'s' if flops > 1 else ''} per output element."
    return pointwise


def _packets(name: str) -> list[Any]:
    """The op and its in-place form (`add` and `add_`), those that exist."""
    return [getattr(aten, n) for n in (name, name + "_") if has(n)]


one_flop = formula(*(p for name in ONE_FLOP.split() for p in _packets(name)), family="pointwise")(
    _pointwise(1)
)
for _name, _flops in COMPOUND.items():
    formula(*_packets(_name), family="pointwise")(_pointwise(_flops))


@formula(aten.log_sigmoid_forward, family="pointwise")
def log_sigmoid(*, out: Any, **args: Any) -> Cost:
    """6 per element: min(x, 0) − log1p(exp(−|x|)): abs, negate, exp, log1p, min, subtract."""
    return Cost.elementwise(numel(args["self"]), 6)


@formula(aten.polar, family="pointwise")
def polar(*, out: Any, **args: Any) -> Cost:
    """4 per element: cos, sin, and two multiplies by the magnitude."""
    return Cost.elementwise(numel(first(out)), 4)
