"""Blind SR: the downscaling kernel estimated from the LR image alone, and the degraded folders that measure it.

``config`` (torch-free) holds the settings and :class:`~.config.KernelSource`, the one way a fit is told where
its kernel comes from; ``estimate`` runs either estimator (``recurrence``: patch recurrence across scales;
``kernel_gan``: KernelGAN); ``datasets`` makes and reads blind-SR benchmark folders. Names load on first use,
so importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ESTIMATE": "config", "KERNEL_ESTIMATORS": "config", "KernelEstimationConfig": "config", "KernelFinding": "config",
    "KernelGANConfig": "config", "KernelSource": "config", "RecurrenceConfig": "config",
    "estimation_settings": "config", "kernel_source": "config",
    "KernelEstimate": "estimate", "estimate_kernel": "estimate", "estimate_kernel_file": "estimate",
    "kernel_psnr": "estimate", "stretch_kernel": "estimate",
    "degrade_folder": "datasets", "kernels_for": "datasets", "true_kernel": "datasets",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
