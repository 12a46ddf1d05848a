"""The image-specific network of ZSSR: 8 convolutions of 3x3, 64 channels, ReLU, no biases."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ZSSRNet", "add_residual", "packed_residuals"]


def add_residual(upscaled: torch.Tensor, residual: torch.Tensor, clamp: bool = True) -> torch.Tensor:
    """The network's output: the cubic-upscaled image plus the residual the network predicts for it.

    The network learns only what interpolation misses (the paper's global residual); the sum is clipped to
    the image range [0, 1], except in training, where the loss must see the unclipped values.
    """
    out = upscaled + residual
    return out.clamp(0.0, 1.0) if clamp else out


class ZSSRNet(nn.Module):
    """Maps a cubic-upscaled image ``(N, C, H, W)`` to its residual correction (same shape).

    As in the released code: no biases; weights ~ N(0, 0.1 / (3*3*in_channels)); ReLU after every layer but
    the last. The global residual (:func:`add_residual`) is applied by the caller, so that the same module
    serves training and the exported pipeline.
    """

    def __init__(self, channels: int = 3, width: int = 64, depth: int = 8, init_variance: float = 0.1,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        sizes = [channels] + [width] * (depth - 1) + [channels]
        self.layers = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1, bias=False) for i, o in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for conv in self.layers:
                std = math.sqrt(init_variance / (9 * conv.in_channels))
                conv.weight.normal_(0.0, std, generator=generator)
        self.channels = channels
        #: how far (in pixels) one output pixel looks: one pixel per 3x3 layer
        self.receptive_radius = depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.layers[:-1]:
            x = torch.relu(conv(x))
        return self.layers[-1](x)


def packed_residuals(nets: Sequence[ZSSRNet], x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """The residuals of ``n`` networks of one shape, each for its own input, in one grouped convolution per layer.

    ``x`` is ``(n, C, H, W)``: network ``j`` corrects ``x[j]``. Each layer's weights are concatenated along the
    output channels and applied with ``groups=n``, so the ``n`` networks run in the same kernels (one launch
    per layer on a GPU instead of ``n``) and each one's gradient reaches only its own weights. ``valid``
    (``(n, 1, H, W)``, 1 inside, 0 outside) marks inputs smaller than ``H x W``, padded at the bottom and
    right with zeros: the activations outside are zeroed after every layer, which is exactly what each
    network's own zero padding does at its input's border, so the residual inside equals the lone network's
    on the unpadded input. Returns ``(n, C, H, W)``.
    """
    n, c, h, w = x.shape
    y = x.reshape(1, n * c, h, w)
    last = len(nets[0].layers) - 1
    for i in range(last + 1):
        y = F.conv2d(y, torch.cat([net.layers[i].weight for net in nets]), padding=1, groups=n)
        if i < last:
            y = torch.relu(y)
            if valid is not None:
                y = (y.reshape(n, -1, h, w) * valid).reshape(1, -1, h, w)
    return y.reshape(n, c, h, w)
