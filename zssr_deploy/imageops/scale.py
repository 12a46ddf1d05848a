"""Scale factors: the one conversion of a factor to its ``(vertical, horizontal)`` pair, and its fraction.

A scale is a number (both axes) or a pair ``(sy, sx)``; an output side is ``ceil(n * s)``. Resizes by a
rational ``p/q`` are exact polyphase filter banks, so every module takes the fraction from
:func:`rational_scale` with the same largest denominator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..errors import ScaleError

__all__ = ["MAX_DENOMINATOR", "MAX_DYNAMIC_DENOMINATOR", "check_dynamic_scale", "output_length", "rational_scale",
           "scale_pair"]

#: the largest denominator of a scale's fraction: 1000 covers every factor typed with three decimals
MAX_DENOMINATOR = 1000

#: scales with a denominator up to this export with dynamic sizes (2, 3, 4, 1.5, 2.5, 4/3, (2, 1.5)...): the
#: exported graph's symbolic sizes are built from the fraction, and larger ones make the exporter give up
MAX_DYNAMIC_DENOMINATOR = 16


def scale_pair(scale: float | Sequence[float], name: str = "scale") -> tuple[float, float]:
    """``s`` or ``(sy, sx)`` -> ``(sy, sx)`` as floats; :class:`ScaleError` unless positive and finite.

    Ranges (upscaling only, at most x16...) are the business of whoever uses the factor.
    """
    if np.isscalar(scale):
        pair = (float(scale), float(scale))  # type: ignore[arg-type]
    else:
        vals = tuple(float(v) for v in scale)  # type: ignore[union-attr]
        if len(vals) != 2:
            raise ScaleError(f"{name} must be a number or a (vertical, horizontal) pair, got {scale!r}")
        pair = (vals[0], vals[1])
    if not all(math.isfinite(v) and v > 0 for v in pair):
        raise ScaleError(f"{name} factors must be positive and finite, got {pair}")
    return pair


def rational_scale(scale: float, max_denominator: int = MAX_DENOMINATOR) -> tuple[int, int]:
    """``(p, q)`` with ``p / q == scale`` within 1e-9; :class:`ScaleError` if no small fraction fits."""
    frac = Fraction(float(scale)).limit_denominator(max_denominator)
    if frac <= 0 or abs(frac.numerator / frac.denominator - scale) > 1e-9:
        raise ScaleError(
            f"scale {scale!r} is not a ratio of small integers (denominator <= {max_denominator}); "
            "use a graph specialised to the image size"
        )
    return frac.numerator, frac.denominator


def output_length(in_len: int, scale: float) -> int:
    """``ceil(in_len * scale)``, ignoring float noise below 1e-9 (so 9 * (1/3) gives 3, not 4)."""
    return max(1, int(math.ceil(in_len * scale - 1e-9)))


def check_dynamic_scale(scale: float | Sequence[float], remedy: str) -> None:
    """:class:`ScaleError` when an ONNX graph with dynamic sizes cannot take ``scale`` (a fraction whose
    denominator is above :data:`MAX_DYNAMIC_DENOMINATOR`): checked before a fit whose result is to be exported,
    so no fit is lost to it; ``remedy`` says what the caller can do instead."""
    for s in scale_pair(scale):
        if rational_scale(s)[1] > MAX_DYNAMIC_DENOMINATOR:
            raise ScaleError(f"scale {s:g} has no small fraction (p/q with q <= {MAX_DYNAMIC_DENOMINATOR}), which an "
                             f"ONNX graph with dynamic sizes needs: {remedy}")
