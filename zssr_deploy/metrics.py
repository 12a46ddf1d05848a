"""PSNR and SSIM exactly as the VDSR/EDSR MATLAB evaluation scripts compute them, and the scoring protocol's
steps around them (mod-crop, the RGB protocol's 8-bit LR input, 8-bit luma, an output scored on Y).

``psnr``/``ssim`` inputs are luma (or single-channel intensity) images on the 0..255 scale, ``HxW`` float or
uint8, already rounded when the protocol says so. ``shave`` pixels are removed from every border before scoring.
The protocols themselves (``y`` and ``rgb``) are described in :mod:`zssr_deploy.evaluate`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InvalidImageError
from .imageops.color import rgb_to_y255
from .imageops.guard import check_image
from .imageops.resize import imresize

__all__ = ["luma8", "mod_crop", "psnr", "rgb_protocol_lr", "score_output", "ssim", "to8"]


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


def mod_crop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so both sides are multiples of ``scale`` (MATLAB ``modcrop``)."""
    h, w = img.shape[0] - img.shape[0] % scale, img.shape[1] - img.shape[1] % scale
    if h < 2 * scale + 11 or w < 2 * scale + 11:
        raise InvalidImageError(
            f"a {img.shape[0]}x{img.shape[1]} image is too small to score at scale {scale} "
            f"(needs at least {2 * scale + 11} pixels per side)"
        )
    return img[:h, :w]


def to8(x: np.ndarray) -> np.ndarray:
    """Round to the 8-bit grid (0..255), as stored images are."""
    return np.round(np.clip(x, 0.0, 255.0))


def rgb_protocol_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """The RGB protocol's LR input: ``hr`` (float ``HxWxC`` in [0, 1], mod-cropped to ``scale``) downscaled by
    ``1/scale`` with MATLAB bicubic and stored as an 8-bit image; returned as float32 in [0, 1]."""
    return (to8(imresize(hr, 1.0 / scale) * 255.0) / 255.0).astype(np.float32)


def luma8(rgb: np.ndarray) -> np.ndarray:
    """8-bit luma of an image in [0, 1]: the image is rounded to 8 bit first, then Y is rounded."""
    return to8(rgb_to_y255(to8(np.asarray(rgb, dtype=np.float64) * 255.0) / 255.0))


def score_output(sr: np.ndarray, gt: np.ndarray, shave: int) -> tuple[float, float]:
    """Y-PSNR and SSIM of an RGB (or gray) output against its ground truth, both rounded to 8 bit."""
    if gt.shape != sr.shape:
        raise InvalidImageError(f"the ground truth is {gt.shape[1]}x{gt.shape[0]} but the output is "
                                f"{sr.shape[1]}x{sr.shape[0]}")
    a, b = luma8(gt), luma8(sr)
    return psnr(a, b, shave=shave), ssim(a, b, shave=shave)
