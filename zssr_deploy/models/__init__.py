"""Torch modules shared by the trainer and the exporters: resizing, the network, the inference pipeline."""

from .network import ZSSRNet, add_residual
from .pipeline import ZSSRPipeline, halo_for
from .resize import Resize

__all__ = ["Resize", "ZSSRNet", "ZSSRPipeline", "add_residual", "halo_for"]
