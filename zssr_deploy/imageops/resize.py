"""MATLAB-compatible ``imresize`` in numpy, and the per-axis weights behind it.

Semantics (MATLAB ``imresize`` and the ZSSR reference implementation):

* separable, one axis at a time, the axis with the smallest scale first;
* an output pixel ``i`` (0-based) sits at input coordinate ``(i + 0.5) / s - 0.5`` where ``s`` is the
  scale factor of that axis, **even when an explicit output size is given** (a 9-pixel father at
  ``s = 2`` has a 5-pixel son, which comes back to 9 pixels with ``s = 2``, not with ``s = 9/5``);
* when downscaling with antialiasing the kernel is stretched by ``1/s`` (a low-pass filter);
* taps outside the image are mirrored symmetrically (``... b a | a b c ... y z | z y ...``);
* weights of each output pixel are normalised to sum 1;
* output length ``ceil(n * s)`` unless given.

Because an output pixel's taps depend only on its position modulo the scale's period, the weights of a
rational scale ``p/q`` form a small *polyphase* filter bank (:func:`polyphase_taps`). The torch and ONNX
code applies exactly those taps, so numpy, torch and ONNX Runtime compute the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import KernelError, ScaleError
from .guard import check_image
from .scale import MAX_DENOMINATOR, output_length, rational_scale, scale_pair

__all__ = [
    "INTERPOLATORS",
    "PolyphaseTaps",
    "contributions",
    "imresize",
    "kernel_downscale",
    "kernel_sample_indices",
    "mirror_index",
    "polyphase_taps",
    "rational_scale",
]


# --- interpolation kernels; x is the distance from the output position, in input pixels ---------------------
def cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * (
        (1 < ax) & (ax <= 2)
    )


def linear(x: np.ndarray) -> np.ndarray:
    return (x + 1) * ((-1 <= x) & (x < 0)) + (1 - x) * ((0 <= x) & (x <= 1))


def box(x: np.ndarray) -> np.ndarray:
    return ((-0.5 <= x) & (x < 0.5)) * 1.0


def _lanczos(a: int) -> Callable[[np.ndarray], np.ndarray]:
    eps = np.finfo(np.float32).eps  # as MATLAB and the reference: avoids 0/0 at x = 0

    def f(x: np.ndarray) -> np.ndarray:
        return ((np.sin(np.pi * x) * np.sin(np.pi * x / a) + eps) / (np.pi**2 * x**2 / a + eps)) * (
            np.abs(x) < a
        )

    return f


#: name -> (function, support width in input pixels at scale 1)
INTERPOLATORS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "cubic": (cubic, 4.0),
    "linear": (linear, 2.0),
    "box": (box, 1.0),
    "lanczos2": (_lanczos(2), 4.0),
    "lanczos3": (_lanczos(3), 6.0),
}


def _interpolator(kernel: str) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    try:
        return INTERPOLATORS[kernel]
    except KeyError:
        raise KernelError(
            f"unknown interpolation kernel {kernel!r}; use one of {sorted(INTERPOLATORS)} or a numeric kernel"
        ) from None


def _raw_contributions(
    out_idx: np.ndarray, scale: float, kernel: str, antialias: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and *unmirrored* input indices (may be < 0 or >= n) for 0-based output indices."""
    func, width = _interpolator(kernel)
    if antialias and scale < 1:
        # Stretch the kernel by 1/s: each output pixel integrates over the input pixels it covers.
        base = func

        def func(x: np.ndarray) -> np.ndarray:  # noqa: F811 - deliberate rebinding
            return scale * base(scale * x)

        width = width / scale
    # 1-based position of each output pixel centre on the input grid (distances, not indices, scale).
    u = (out_idx + 1.0) / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2  # one extra pixel each side: partly covered pixels count too
    idx = left[:, None] + np.arange(taps)[None, :] - 1  # 0-based
    weights = func(u[:, None] - idx - 1.0)
    sums = weights.sum(axis=1)
    sums[sums == 0] = 1.0
    return weights / sums[:, None], idx.astype(np.int64)


def mirror_index(idx: np.ndarray, n: int) -> np.ndarray:
    """Symmetric (half-sample) reflection of any integer index into [0, n) (``... b a | a b ... y z | z y ...``);
    :func:`zssr_deploy.models.resize.mirror_indices` is its torch twin."""
    m = np.mod(idx, 2 * n)
    return np.where(m >= n, 2 * n - 1 - m, m)


def contributions(
    in_len: int, out_len: int, scale: float, kernel: str = "cubic", antialias: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Taps of a 1-D resize.

    Returns ``(weights, indices)``, both of shape ``(out_len, taps)``: output pixel ``i`` is
    ``sum_t weights[i, t] * x[indices[i, t]]``. Weights are float64 and sum to 1 per row; indices are
    already mirrored into ``[0, in_len)``.
    """
    w, idx = _raw_contributions(np.arange(out_len, dtype=np.float64), float(scale), kernel, antialias)
    return w, mirror_index(idx, in_len)


@dataclass(frozen=True)
class PolyphaseTaps:
    """A 1-D resize by a rational factor ``p/q`` as a bank of ``p`` filters applied with stride ``q``.

    Output pixel ``p*k + r`` equals ``sum_l taps[r, l] * x_mirrored[q*k + offset + l]``.
    """

    p: int
    """Output pixels per period."""
    q: int
    """Input pixels per period (the filters' stride)."""
    offset: int
    """Input index (may be negative) that filter position 0 reads for output block ``k = 0``."""
    taps: np.ndarray
    """``(p, L)`` float64 weights."""


def polyphase_taps(scale: float, kernel: str = "cubic", antialias: bool = True,
                   max_denominator: int = MAX_DENOMINATOR) -> PolyphaseTaps:
    """The exact weights of :func:`contributions` for a rational ``scale``, as a polyphase filter bank."""
    p, q = rational_scale(scale, max_denominator)
    w, idx = _raw_contributions(np.arange(p, dtype=np.float64), float(scale), kernel, antialias)
    offset = int(idx[:, 0].min())
    length = int(idx[:, -1].max()) - offset + 1
    taps = np.zeros((p, length))
    for r in range(p):
        start = int(idx[r, 0]) - offset
        taps[r, start : start + w.shape[1]] = w[r]
    return PolyphaseTaps(p=p, q=q, offset=offset, taps=taps)


def _resize_axis(x: np.ndarray, axis: int, out_len: int, scale: float, kernel: str, antialias: bool) -> np.ndarray:
    w, idx = contributions(x.shape[axis], out_len, scale, kernel, antialias)
    moved = np.moveaxis(x, axis, 0)
    out = np.einsum("ot,ot...->o...", w, moved[idx])
    return np.moveaxis(out, 0, axis)


def imresize(
    img: np.ndarray,
    scale: float | Sequence[float] | None = None,
    output_shape: Sequence[int] | None = None,
    kernel: str | np.ndarray = "cubic",
    antialias: bool = True,
) -> np.ndarray:
    """Resize an image like MATLAB's ``imresize``.

    Args:
        img: ``HxW`` or ``HxWxC`` array, any real dtype; computed in float64.
        scale: factor ``s`` or ``(sy, sx)``; output pixel ``i`` samples input position ``(i+0.5)/s - 0.5``.
        output_shape: ``(h, w)``; defaults to ``(ceil(H*sy), ceil(W*sx))``. When only the shape is given the
            scale is ``h/H, w/W``.
        kernel: an interpolation name from :data:`INTERPOLATORS`, or a 2-D numeric blur kernel (downscaling
            only; see :func:`kernel_downscale`).
        antialias: stretch the kernel when downscaling (MATLAB's default).

    Returns:
        The resized array, float32 if ``img`` is float32, else float64. Values are not clipped.
    """
    img = np.asarray(img)
    check_image(img, channels=None)
    if scale is None and output_shape is None:
        raise ScaleError("give a scale factor or an output shape")
    in_hw = img.shape[:2]
    if scale is None:
        assert output_shape is not None
        sy, sx = scale_pair((output_shape[0] / in_hw[0], output_shape[1] / in_hw[1]), "output_shape")
    else:
        sy, sx = scale_pair(scale)
    if output_shape is None:
        out_hw = (output_length(in_hw[0], sy), output_length(in_hw[1], sx))
    else:
        out_hw = (int(output_shape[0]), int(output_shape[1]))
    out_dtype = np.float32 if img.dtype == np.float32 else np.float64
    x = img.astype(np.float64)

    if not isinstance(kernel, str):
        if sy > 1 or sx > 1:
            raise ScaleError("a numeric kernel can only downscale; upscale with an interpolation name")
        return kernel_downscale(x, np.asarray(kernel, dtype=np.float64), (sy, sx), out_hw).astype(out_dtype)

    scales = (sy, sx)
    for axis in np.argsort(np.array(scales), kind="stable"):
        axis = int(axis)
        if scales[axis] == 1.0 and out_hw[axis] == x.shape[axis]:
            continue  # identity: a scale-1 resize reproduces the input exactly
        x = _resize_axis(x, axis, out_hw[axis], scales[axis], kernel, antialias)
    return x.astype(out_dtype)


def kernel_sample_indices(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Rows/columns the reference keeps after blurring: ``round(linspace(0, n - 1/s, out_len))``;
    :func:`zssr_deploy.models.resize.kernel_sample_rows` is its torch twin."""
    return np.round(np.linspace(0.0, in_len - 1.0 / scale, out_len)).astype(np.int64)


def kernel_downscale(
    img: np.ndarray, kernel: np.ndarray, scale: tuple[float, float], output_shape: tuple[int, int]
) -> np.ndarray:
    """Downscale with a numeric blur kernel, as the reference implementation does.

    Every channel is correlated with ``kernel`` (symmetric borders; the kernel's origin is its element
    ``(kh // 2, kw // 2)``), then rows and columns are taken at :func:`kernel_sample_indices`. The kernel is
    used as given: re-centre it first with :func:`zssr_deploy.imageops.kernels.shift_kernel`.
    """
    check_image(img, channels=None)
    img = np.asarray(img, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2:
        raise KernelError(f"a blur kernel must be 2-D, got shape {kernel.shape}")
    if kernel.shape[0] > img.shape[0] or kernel.shape[1] > img.shape[1]:
        raise KernelError(
            f"kernel {kernel.shape[0]}x{kernel.shape[1]} is larger than the image {img.shape[0]}x{img.shape[1]}; "
            "use a smaller kernel or a larger image"
        )
    planes = img[..., None] if img.ndim == 2 else img
    out = np.stack([ndimage.correlate(planes[..., c], kernel, mode="reflect") for c in range(planes.shape[2])], -1)
    rows = kernel_sample_indices(img.shape[0], output_shape[0], scale[0])
    cols = kernel_sample_indices(img.shape[1], output_shape[1], scale[1])
    out = out[rows[:, None], cols[None, :]]
    return out[..., 0] if img.ndim == 2 else out
