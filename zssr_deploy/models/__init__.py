"""Torch modules shared by the trainer and the exporters: resizing, the network, the inference pipeline."""

from .network import ZSSRNet
from .pipeline import ZSSRPipeline
from .resize import Resize

__all__ = ["Resize", "ZSSRNet", "ZSSRPipeline"]
