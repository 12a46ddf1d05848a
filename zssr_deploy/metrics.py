"""PSNR and SSIM exactly as the VDSR/EDSR MATLAB evaluation scripts compute them.

Inputs are luma (or single-channel intensity) images on the 0..255 scale, ``HxW`` float or uint8, already
rounded when the protocol says so. ``shave`` pixels are removed from every border before scoring.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InvalidImageError
from .imageops.guard import check_image

__all__ = ["psnr", "ssim"]


def _shaved(a: np.ndarray, b: np.ndarray, shave: int) -> tuple[np.ndarray, np.ndarray]:
    a = check_image(np.asarray(a, dtype=np.float64), "reference", channels=(1,))[..., 0]
    b = check_image(np.asarray(b, dtype=np.float64), "test image", channels=(1,))[..., 0]
    if a.shape != b.shape:
        raise InvalidImageError(f"scoring needs two images of one shape, got {a.shape} and {b.shape}")
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    if a.size == 0:
        raise InvalidImageError(f"nothing left to score after shaving {shave} pixels from a {a.shape} image")
    return a, b


def psnr(reference: np.ndarray, test: np.ndarray, shave: int = 0, peak: float = 255.0) -> float:
    """``10 log10(peak^2 / MSE)`` in dB; ``inf`` for identical images."""
    a, b = _shaved(reference, test, shave)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()  # MATLAB fspecial('gaussian', 11, 1.5)


def _filter_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    # MATLAB filter2(w, x, 'valid'): correlation, keeping only positions where the window fits.
    r = w.shape[0] // 2
    return ndimage.correlate(x, w, mode="constant")[r:-r, r:-r]


def ssim(reference: np.ndarray, test: np.ndarray, shave: int = 0, peak: float = 255.0) -> float:
    """Mean SSIM of Wang et al. (11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, 'valid' filtering)."""
    a, b = _shaved(reference, test, shave)
    if min(a.shape) < 11:
        raise InvalidImageError(f"SSIM needs at least 11x11 pixels after shaving, got {a.shape}")
    w = _gaussian_window()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mu1, mu2 = _filter_valid(a, w), _filter_valid(b, w)
    s11 = _filter_valid(a * a, w) - mu1**2
    s22 = _filter_valid(b * b, w) - mu2**2
    s12 = _filter_valid(a * b, w) - mu1 * mu2
    num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2)
    den = (mu1**2 + mu2**2 + c1) * (s11 + s22 + c2)
    return float(np.mean(num / den))
