"""Image operations in numpy/OpenCV, shared by the trainer, the exporters and the runtime (no torch)."""

from .color import rgb2ycbcr, rgb_to_y255, ycbcr2rgb
from .kernels import load_kernel, random_gaussian_kernel, shift_kernel, validate_kernel
from .resize import contributions, imresize, kernel_downscale, polyphase_taps, resize_matrix

__all__ = [
    "contributions",
    "imresize",
    "kernel_downscale",
    "load_kernel",
    "polyphase_taps",
    "random_gaussian_kernel",
    "resize_matrix",
    "rgb2ycbcr",
    "rgb_to_y255",
    "shift_kernel",
    "validate_kernel",
    "ycbcr2rgb",
]
