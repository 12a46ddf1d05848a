"""zssr-deploy: Zero-Shot Super-Resolution, fitted with PyTorch and deployed through ONNX Runtime.

Importing the package does not import torch: the runtime and the image operations work without it. The
torch-based names below (``fit``, ``ZSSRConfig``...) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .compute import Compute
from .errors import (
    BatchError,
    CheckpointError,
    ConfigError,
    ImageReadError,
    ImageWriteError,
    InvalidImageError,
    KernelError,
    ModelError,
    OutputError,
    ProviderError,
    ResultsError,
    ScaleError,
    ZSSRError,
)
from .evaluate import score_image
from .imageops import imresize, load_kernel, random_gaussian_kernel, rgb2ycbcr, ycbcr2rgb
from .io import Image, read_image, write_image
from .metrics import psnr, ssim

_LAZY = {
    "ZSSRConfig": "zssr_deploy.trainers.config",
    "PRESETS": "zssr_deploy.trainers.config",
    "build_config": "zssr_deploy.trainers.config",
    "fit": "zssr_deploy.trainers.fitting",
    "FitResult": "zssr_deploy.trainers.fitting",
    "plan_fit": "zssr_deploy.trainers.fitting",
    "fit_packed": "zssr_deploy.trainers.packed",
    "upscale_image": "zssr_deploy.api",
    "upscale_array": "zssr_deploy.api",
    "KernelSource": "zssr_deploy.blind.config",
    "estimate_kernel": "zssr_deploy.blind.estimate",
    "Inference": "zssr_deploy.runtime.run",
    "run_model": "zssr_deploy.runtime.run",
    "BatchOptions": "zssr_deploy.batch",
    "plan_batch": "zssr_deploy.batch",
    "run_batch": "zssr_deploy.batch",
}

__all__ = [
    "PRESETS",
    "BatchError",
    "BatchOptions",
    "CheckpointError",
    "Compute",
    "ConfigError",
    "FitResult",
    "Image",
    "ImageReadError",
    "ImageWriteError",
    "Inference",
    "InvalidImageError",
    "KernelError",
    "KernelSource",
    "ModelError",
    "OutputError",
    "ProviderError",
    "ResultsError",
    "ScaleError",
    "ZSSRConfig",
    "ZSSRError",
    "__version__",
    "build_config",
    "estimate_kernel",
    "fit",
    "fit_packed",
    "imresize",
    "load_kernel",
    "plan_batch",
    "plan_fit",
    "psnr",
    "random_gaussian_kernel",
    "read_image",
    "rgb2ycbcr",
    "run_batch",
    "run_model",
    "score_image",
    "ssim",
    "upscale_array",
    "upscale_image",
    "write_image",
    "ycbcr2rgb",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zssr_deploy' has no attribute {name!r}")
