"""MATLAB-exact resizing as torch modules (polyphase convolutions), exportable to ONNX with dynamic sizes.

Tensors are ``(N, C, H, W)`` float. The weights come from :mod:`zssr_deploy.imageops.resize`, so numpy,
torch and ONNX Runtime apply the same taps: an axis resized by ``s = p/q`` is a bank of ``p`` filters run with
stride ``q`` over the symmetrically mirrored input, then interleaved. Mirroring is an index gather, so it
works for any size, and nothing depends on the image size but the gather indices and the final slice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..imageops.resize import polyphase_taps
from ..imageops.scale import MAX_DENOMINATOR, rational_scale, scale_pair

__all__ = ["AxisResize", "KernelDownscale", "Resize", "ceil_scaled", "kernel_sample_rows", "mirror_indices"]


def mirror_indices(n: int | torch.SymInt, start: int, length: int | torch.SymInt, device: torch.device) -> torch.Tensor:
    """Indices ``start .. start+length-1`` reflected symmetrically into ``[0, n)`` (``... b a | a b ...``): the
    torch twin of :func:`zssr_deploy.imageops.resize.mirror_index`, valid for symbolic
    sizes during export."""
    i = torch.arange(length, device=device) + start
    if isinstance(n, torch.SymInt):
        # Exporting with a symbolic size: the ONNX converter cannot take a remainder by a symbolic value, so
        # reflect twice, which covers indices in [-2n, 3n): enough whenever the side is at least half the
        # filter's reach (the exporter's minimum size guarantees it).
        for _ in range(2):
            i = torch.where(i < 0, -1 - i, i)
            i = torch.where(i >= n, 2 * n - 1 - i, i)
        return i
    m = torch.remainder(i, 2 * n)
    return torch.where(m >= n, 2 * n - 1 - m, m)


def ceil_scaled(n: int | torch.SymInt, p: int, q: int) -> int | torch.SymInt:
    """``ceil(n * p / q)`` in integer arithmetic (valid for symbolic sizes during export)."""
    return (n * p + q - 1) // q


class AxisResize(nn.Module):
    """Resize one spatial axis (``dim`` = 2 for height, 3 for width) by a rational factor."""

    def __init__(self, scale: float, dim: int, kernel: str = "cubic", antialias: bool = True,
                 max_denominator: int = MAX_DENOMINATOR) -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError("dim must be 2 (height) or 3 (width)")
        self.dim = dim
        self.scale = float(scale)
        self.identity = self.scale == 1.0
        p, q = rational_scale(self.scale, max_denominator)
        pt = polyphase_taps(self.scale, kernel, antialias, max_denominator) if not self.identity else None
        self.p, self.q = p, q
        self.offset = pt.offset if pt else 0
        taps = pt.taps if pt else np.ones((1, 1))
        self.length = taps.shape[1]
        shape = (self.p, 1, self.length, 1) if dim == 2 else (self.p, 1, 1, self.length)
        self.register_buffer("taps", torch.from_numpy(taps.astype(np.float32)).reshape(shape), persistent=False)

    def indices(self, n: int | torch.SymInt, out_len: int | torch.SymInt, device: torch.device) -> torch.Tensor:
        """Mirrored input indices the filter bank reads for an ``n -> out_len`` resize (reusable across calls)."""
        blocks = (out_len + self.p - 1) // self.p
        return mirror_indices(n, self.offset, self.q * (blocks - 1) + self.length, device)

    def forward(self, x: torch.Tensor, out_len: int | torch.SymInt | None = None,
                idx: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[self.dim]
        if out_len is None:
            out_len = ceil_scaled(n, self.p, self.q)
        if self.identity:
            return x if out_len == n else x.narrow(self.dim, 0, out_len)
        if idx is None:
            idx = self.indices(n, out_len, x.device)
        b, c, h, w = x.shape
        xp = x.index_select(self.dim, idx).reshape(b * c, 1, -1, w if self.dim == 2 else idx.shape[0])
        stride = (self.q, 1) if self.dim == 2 else (1, self.q)
        y = F.conv2d(xp, self.taps.to(x.dtype), stride=stride)  # (b*c, p, K, W) or (b*c, p, H, K)
        if self.dim == 2:
            y = y.permute(0, 2, 1, 3).reshape(b, c, -1, w)  # interleave phases along H
        else:
            y = y.permute(0, 2, 3, 1).reshape(b, c, h, -1)  # interleave phases along W
        return y.narrow(self.dim, 0, out_len)


def kernel_sample_rows(n: int | torch.SymInt, out_n: int | torch.SymInt, s: float, device: torch.device) -> torch.Tensor:
    """Rows (or columns) kept after blurring: ``round(linspace(0, n - 1/s, out_n))``, the torch twin of
    :func:`zssr_deploy.imageops.resize.kernel_sample_indices`, valid for symbolic sizes during export."""
    # float64 as numpy's linspace: rounding of exact halves must agree with the reference
    k = torch.arange(out_n, device=device, dtype=torch.float64)
    stop = torch.sym_float(n) - 1.0 / s
    step = stop / torch.sym_float(torch.sym_max(out_n - 1, 1))
    # numpy's linspace sets the last sample to `stop` exactly (it may be a half-integer: rounding must agree)
    pos = torch.where((k == out_n - 1) & (k > 0), torch.full_like(k, stop), k * step)
    return torch.round(pos).to(torch.int64)


class KernelDownscale(nn.Module):
    """Downscale with a numeric blur kernel: correlate each channel (symmetric borders), then subsample at
    ``round(linspace(0, n - 1/s, out_n))`` as the reference implementation does."""

    def __init__(self, kernel: np.ndarray, scale: Sequence[float]) -> None:
        super().__init__()
        k = np.asarray(kernel, dtype=np.float32)
        self.kh, self.kw = k.shape
        self.scale = (float(scale[0]), float(scale[1]))
        self.register_buffer("kernel", torch.from_numpy(k)[None, None], persistent=False)

    def plan(self, in_hw: tuple, out_hw: tuple, device: torch.device) -> tuple[torch.Tensor, ...]:
        h, w = in_hw
        return (mirror_indices(h, -(self.kh // 2), h + self.kh - 1, device),
                mirror_indices(w, -(self.kw // 2), w + self.kw - 1, device),
                kernel_sample_rows(h, out_hw[0], self.scale[0], device), kernel_sample_rows(w, out_hw[1], self.scale[1], device))

    def forward(self, x: torch.Tensor, out_hw: tuple[int | torch.SymInt, int | torch.SymInt],
                plan: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        rows, cols, pick_r, pick_c = plan if plan is not None else self.plan((h, w), out_hw, x.device)
        xp = x.index_select(2, rows).index_select(3, cols).reshape(b * c, 1, h + self.kh - 1, w + self.kw - 1)
        y = F.conv2d(xp, self.kernel.to(x.dtype)).reshape(b, c, h, w)
        return y.index_select(2, pick_r).index_select(3, pick_c)


class Resize(nn.Module):
    """2-D MATLAB ``imresize`` by ``(sy, sx)``, the axis with the smaller factor first (as numpy does).

    ``kernel`` is an interpolation name or, for downscaling, a numeric kernel array (already re-centred).
    ``forward(x, out_hw)`` takes the output size explicitly (a 9-pixel father at x2 has a 5-pixel son that
    comes back to 9); without it the size is ``ceil(n * s)``.
    """

    def __init__(self, scale: float | Sequence[float], kernel: str | np.ndarray = "cubic", antialias: bool = True) -> None:
        super().__init__()
        sy, sx = scale_pair(scale)
        self.scale = (sy, sx)
        self.numeric: KernelDownscale | None = None
        if not isinstance(kernel, str):
            self.numeric = KernelDownscale(kernel, (sy, sx))
        self.axis_h = AxisResize(sy, 2, "cubic" if self.numeric else kernel, antialias)
        self.axis_w = AxisResize(sx, 3, "cubic" if self.numeric else kernel, antialias)
        self.height_first = not (sx < sy)  # numpy's stable argsort of (sy, sx)

    def out_size(self, h: int | torch.SymInt, w: int | torch.SymInt) -> tuple[int | torch.SymInt, int | torch.SymInt]:
        return ceil_scaled(h, self.axis_h.p, self.axis_h.q), ceil_scaled(w, self.axis_w.p, self.axis_w.q)

    def plan(self, in_hw: tuple, out_hw: tuple | None, device: torch.device) -> tuple[torch.Tensor, ...]:
        """Index tensors for an ``in_hw -> out_hw`` resize; pass them back to reuse them (back-projection)."""
        if out_hw is None:
            out_hw = self.out_size(*in_hw)
        if self.numeric is not None:
            return self.numeric.plan(in_hw, out_hw, device)
        ih = self.axis_h.indices(in_hw[0], out_hw[0], device) if not self.axis_h.identity else None
        iw = self.axis_w.indices(in_hw[1], out_hw[1], device) if not self.axis_w.identity else None
        return (ih, iw)  # type: ignore[return-value]

    def forward(self, x: torch.Tensor, out_hw: tuple[int | torch.SymInt, int | torch.SymInt] | None = None,
                plan: tuple | None = None) -> torch.Tensor:
        if out_hw is None:
            out_hw = self.out_size(x.shape[2], x.shape[3])
        if self.numeric is not None:
            return self.numeric(x, out_hw, plan)
        ih, iw = plan if plan is not None else (None, None)
        if self.height_first:
            return self.axis_w(self.axis_h(x, out_hw[0], ih), out_hw[1], iw)
        return self.axis_h(self.axis_w(x, out_hw[1], iw), out_hw[0], ih)
