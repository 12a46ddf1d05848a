"""The whole ZSSR inference as one torch module: the trainer evaluates it, the exporter exports it.

Steps (paper section 3 and the released code's ``final_test``):

1. for each geometric transform ``k`` of the ensemble (8 = 4 rotations x mirror; only 180-degree steps when
   the two axes have different factors; 1 without ensemble): transform the LR image, MATLAB-cubic upscale it,
   add the network's residual, clip to [0, 1], undo the transform;
2. back-project every output ``bp_iters`` times against the LR input;
3. take the per-pixel median of the outputs (mean of the two middle values, as numpy);
4. back-project the median ``bp_iters`` more times; clip.

A back-projection step is ``sr <- clip(sr + up(lr - down(sr)), 0, 1)`` with ``down`` the training degradation
(MATLAB bicubic or the numeric kernel) and ``up`` MATLAB bicubic, both mapping exactly to the other's shape.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .network import ZSSRNet, add_residual
from .resize import Resize

__all__ = ["ZSSRPipeline", "ensemble_transforms", "halo_for", "median_network", "sorted_median"]


def halo_for(scale: Sequence[float], depth: int, bp_iters: int, kernel_shape: Sequence[int] | None) -> int:
    """LR pixels of context a tile needs for tiled output to match the whole image within 1e-6.

    Network: ``depth`` HR pixels; cubic upscale: 2 LR pixels; each back-projection widens the dependency by a
    few pixels but its influence decays geometrically, so 16 LR pixels cover any number of steps to below
    1e-6 (measured: 8 px -> 1.1e-4, 16 px -> 1.8e-7, 32 px -> exact at x2 with 10 + 10 steps). A numeric
    kernel (its re-centred shape) adds its own reach.
    """
    halo = math.ceil(depth / min(scale)) + 3
    if bp_iters > 0:
        halo += 16
    if kernel_shape is not None:
        halo += math.ceil(max(kernel_shape) / 2)
    return halo


def ensemble_transforms(scale: Sequence[float], ensemble: bool) -> list[int]:
    """Transform indices: 0..7 (isotropic), 0,2,4,6 (anisotropic: 180-degree steps keep the axes), or [0]."""
    if not ensemble:
        return [0]
    return list(range(8)) if scale[0] == scale[1] else [0, 2, 4, 6]


def forward_transform(x: torch.Tensor, k: int) -> torch.Tensor:
    """Rotate by ``k * 90`` degrees (``k < 4``) or rotate then mirror left-right (``k >= 4``); like ``np.rot90``."""
    y = torch.rot90(x, k % 4, dims=(2, 3))
    return torch.flip(y, dims=(3,)) if k >= 4 else y


def inverse_transform(x: torch.Tensor, k: int) -> torch.Tensor:
    """Undo :func:`forward_transform` (mind the opposite order of mirror and rotation)."""
    y = torch.flip(x, dims=(3,)) if k >= 4 else x
    return torch.rot90(y, -(k % 4), dims=(2, 3))


def _oddeven_merge(lo: int, hi: int, r: int) -> Iterator[tuple[int, int]]:
    step = r * 2
    if step < hi - lo:
        yield from _oddeven_merge(lo, hi, step)
        yield from _oddeven_merge(lo + r, hi, step)
        yield from ((i, i + r) for i in range(lo + r, hi - r, step))
    else:
        yield (lo, lo + r)


def _oddeven_merge_sort(lo: int, hi: int) -> Iterator[tuple[int, int]]:
    if hi - lo >= 1:
        mid = lo + (hi - lo) // 2
        yield from _oddeven_merge_sort(lo, mid)
        yield from _oddeven_merge_sort(mid + 1, hi)
        yield from _oddeven_merge(lo, hi, 1)


def median_network(n: int) -> list[tuple[int, int]]:
    """Batcher's odd-even merge sort comparators for ``n`` (a power of two); 19 for n = 8."""
    if n < 1 or n & (n - 1):
        raise ValueError("the sorting network needs a power of two")
    return list(_oddeven_merge_sort(0, n - 1)) if n > 1 else []


def sorted_median(values: list[torch.Tensor]) -> torch.Tensor:
    """Elementwise median of a list of equally shaped tensors (numpy semantics: mean of the middle two).

    A sorting network of ``min``/``max`` only: ONNX has no median or sort, and TopK is slower.
    """
    vals = list(values)
    for i, j in median_network(len(vals)):
        lo, hi = torch.minimum(vals[i], vals[j]), torch.maximum(vals[i], vals[j])
        vals[i], vals[j] = lo, hi
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) * 0.5


class ZSSRPipeline(nn.Module):
    """LR image ``(1, C, H, W)`` float32 in [0, 1] -> SR image ``(1, C, ceil(H*sy), ceil(W*sx))`` in [0, 1]."""

    def __init__(self, net: ZSSRNet, scale: Sequence[float], down_kernel: str | np.ndarray = "cubic",
                 bp_iters: int = 10, ensemble: bool = True, net_tile: int | None = None) -> None:
        super().__init__()
        self.net = net
        self.scale = (float(scale[0]), float(scale[1]))
        self.up = Resize(self.scale, "cubic")
        self.up_t = Resize(self.scale[::-1], "cubic")  # for 90-degree transforms (only used when sy == sx)
        self.down = Resize((1.0 / self.scale[0], 1.0 / self.scale[1]), down_kernel)
        self.bp_iters = int(bp_iters)
        self.transforms = ensemble_transforms(self.scale, ensemble)
        #: eager-mode only: run the network in tiles of this many HR pixels (exact, halo = receptive radius)
        self.net_tile = net_tile
        #: the network's dtype (None: float32, as trained): see :meth:`with_net_dtype`
        self.net_dtype: torch.dtype | None = None

    def half_for(self, device: str | torch.device) -> ZSSRPipeline:
        """This pipeline with its network in half precision for ``device``: float16 on a GPU (and in an exported
        graph, whichever device runs it), bfloat16 on the CPU, where float16 convolutions are emulated (a 64x64
        image took 240 s against 0.6 s in bfloat16, AMD EPYC, 2026-12-04)."""
        return self.with_net_dtype(torch.float16 if str(device).startswith("cuda") else torch.bfloat16)

    def with_net_dtype(self, dtype: torch.dtype | None) -> ZSSRPipeline:
        """This pipeline with its network's weights in ``dtype`` (torch.float16 or torch.bfloat16; None or
        float32: this pipeline): the network's input is cast down and its residual back up to float32, while
        the resizes, the ensemble, the median and back-projection stay float32. The network is the bulk of the
        work and its residual is small, so half precision costs little there; exported, it is a graph with
        float16 weights and float32 inputs and outputs. The trained network is copied, never changed."""
        if dtype is None or dtype == torch.float32:
            return self
        twin = copy.copy(self)
        twin._modules = dict(self._modules)
        twin.net = copy.deepcopy(self.net).to(dtype)
        twin.net_dtype = dtype
        return twin

    @property
    def halo(self) -> int:
        """LR pixels of context a tile of this pipeline needs (see :func:`halo_for`)."""
        numeric = self.down.numeric
        return halo_for(self.scale, self.net.receptive_radius, self.bp_iters,
                        (numeric.kh, numeric.kw) if numeric is not None else None)

    @property
    def min_size(self) -> int:
        """The smallest LR side the exported graph accepts (``zssr.min_size``): its mirror padding reflects
        twice, so a side must be at least half of the widest filter's reach."""
        reach = max(m.length + abs(m.offset) for m in (self.up.axis_h, self.up.axis_w, self.down.axis_h,
                                                       self.down.axis_w))
        if self.down.numeric is not None:
            reach = max(reach, self.down.numeric.kh, self.down.numeric.kw)
        return max(8, math.ceil(reach / 2) + 1)

    def upscale_and_correct(self, x: torch.Tensor, up: Resize, plan: tuple | None = None) -> torch.Tensor:
        """Cubic upscale, add the network's residual, clip: one ensemble member before back-projection."""
        u = up(x, None, plan)
        return add_residual(u, self.residual(u))

    def residual(self, u: torch.Tensor) -> torch.Tensor:
        """The network's residual for a cubic-upscaled batch, in tiles of `net_tile` HR pixels when set (exact:
        each tile reads the receptive radius around it)."""
        t = self.net_tile
        h, w = u.shape[2], u.shape[3]
        if t is None or torch.compiler.is_compiling() or (h <= t and w <= t):
            return self._net(u)
        halo = self.net.receptive_radius
        out = torch.empty_like(u)
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                ys, xs = max(y0 - halo, 0), max(x0 - halo, 0)
                ye, xe = min(y0 + t + halo, h), min(x0 + t + halo, w)
                r = self._net(u[:, :, ys:ye, xs:xe])
                out[:, :, y0 : min(y0 + t, h), x0 : min(x0 + t, w)] = r[
                    :, :, y0 - ys : y0 - ys + min(t, h - y0), x0 - xs : x0 - xs + min(t, w - x0)
                ]
        return out

    def _net(self, u: torch.Tensor) -> torch.Tensor:
        if self.net_dtype is None:
            return self.net(u)
        return self.net(u.to(self.net_dtype)).float()

    def back_project(self, sr: torch.Tensor, lr: torch.Tensor, plans: tuple | None = None) -> torch.Tensor:
        lr_hw, sr_hw = (lr.shape[2], lr.shape[3]), (sr.shape[2], sr.shape[3])
        if plans is None and self.bp_iters:
            plans = (self.down.plan(sr_hw, lr_hw, sr.device), self.up.plan(lr_hw, sr_hw, sr.device))
        for _ in range(self.bp_iters):
            assert plans is not None
            residual = lr - self.down(sr, lr_hw, plans[0])
            sr = torch.clamp(sr + self.up(residual, sr_hw, plans[1]), 0.0, 1.0)
        return sr

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        h, w = lr.shape[2], lr.shape[3]
        # index tensors depend only on sizes: build them once and reuse them in every member and step
        up_plan = self.up.plan((h, w), None, lr.device)
        up_t_plan = self.up_t.plan((w, h), None, lr.device) if any(k % 2 for k in self.transforms) else None
        outputs = []
        # members of one parity share a shape: upscale and run the network on them as one batch
        for parity in (0, 1):
            ks = [k for k in self.transforms if k % 2 == parity]
            if not ks:
                continue
            up, plan = (self.up_t, up_t_plan) if parity else (self.up, up_plan)
            batch = torch.cat([forward_transform(lr, k) for k in ks], 0)
            corrected = self.upscale_and_correct(batch, up, plan)
            outputs.extend(inverse_transform(y, k) for k, y in zip(ks, corrected.split(1, 0)))
        sr_hw = (outputs[0].shape[2], outputs[0].shape[3])
        plans = (self.down.plan(sr_hw, (h, w), lr.device), self.up.plan((h, w), sr_hw, lr.device)) if self.bp_iters else None
        stacked = self.back_project(torch.cat(outputs, 0), lr.expand(len(outputs), -1, -1, -1), plans)
        fused = sorted_median(list(stacked.split(1, 0)))
        return torch.clamp(self.back_project(fused, lr, plans), 0.0, 1.0)
