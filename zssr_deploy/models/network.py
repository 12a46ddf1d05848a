"""The image-specific network of ZSSR: 8 convolutions of 3x3, 64 channels, ReLU, no biases."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ZSSRNet", "add_residual"]


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
