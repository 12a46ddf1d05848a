"""Image operations in numpy/OpenCV, shared by the trainer, the exporters and the runtime (no torch)."""

from .color import rgb2ycbcr, rgb_to_y255, ycbcr2rgb
from .guard import check_image
from .kernels import is_dihedral_symmetric, load_kernel, random_gaussian_kernel, shift_kernel, validate_kernel
from .resize import contributions, imresize, kernel_downscale, polyphase_taps
from .scale import rational_scale, scale_pair

__all__ = [
    "check_image",
    "contributions",
    "imresize",
    "is_dihedral_symmetric",
    "kernel_downscale",
    "load_kernel",
    "polyphase_taps",
    "random_gaussian_kernel",
    "rational_scale",
    "rgb2ycbcr",
    "rgb_to_y255",
    "scale_pair",
    "shift_kernel",
    "validate_kernel",
    "ycbcr2rgb",
]
