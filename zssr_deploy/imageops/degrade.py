"""Blind-SR benchmark data: LR images made with random, unknown-to-the-method kernels (DIV2KRK's recipe).

The recipe (DIV2KRK's, as KernelGAN's paper describes it; the generator the KernelGAN authors point to,
assafshocher/BlindSR_dataset_generator), per image and x2:

1. variances ``l1, l2 ~ U(min_var, max_var)`` (sigma squared), angle ``theta ~ U(0, pi)``,
   covariance ``Q(theta) diag(l1, l2) Q(theta)^T``;
2. a ``size x size`` grid, the Gaussian's mean at ``size // 2 + 0.5 * (sf - size % 2)`` per axis;
3. every tap multiplied by ``1 + U(-noise, noise)``;
4. the centre of mass moved to ``size / 2 + 0.5 * (sf - size % 2)`` (ZSSR's own re-centring rule, so ZSSR
   given the true kernel is aligned with the data), then normalised to sum 1.

The LR image correlates each channel with the kernel (symmetric borders) and keeps rows and columns
``round(linspace(0, n - sf, n / sf))`` (:func:`~zssr_deploy.imageops.resize.kernel_downscale`). x4 applies the
x2 kernel twice; its true kernel is the x2 kernel composed with itself (:func:`compose_x2`, ``3k - 2`` taps),
which degrades in one step exactly as the two x2 steps do away from the borders.

Arrays: kernels are float64 2-D, sum 1; images float ``HxWxC`` in [0, 1].
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from ..errors import ConfigError
from .guard import check_image
from .kernels import gaussian_taps, zssr_centre
from .resize import kernel_downscale

__all__ = ["DIV2KRK_X2", "KernelRecipe", "compose_x2", "degrade", "image_seed", "random_kernel"]


@dataclass(frozen=True)
class KernelRecipe:
    """Random anisotropic Gaussian kernels with multiplicative tap noise."""

    size: int = 11
    """Side of the kernel grid (taps)."""
    min_var: float = 0.6
    """Smallest variance (sigma squared, in HR pixels squared) of either principal axis."""
    max_var: float = 5.0
    """Largest variance of either principal axis."""
    noise: float = 0.25
    """Each tap is multiplied by ``1 + U(-noise, noise)``."""


#: DIV2KRK's x2 setting, as the KernelGAN paper states it (x4: this kernel applied twice)
DIV2KRK_X2 = KernelRecipe()


def image_seed(seed: int, name: str) -> np.random.Generator:
    """A generator for one image, fixed by the run's seed and the image's name alone (adding or removing
    other images does not change its kernel)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def random_kernel(rng: np.random.Generator, recipe: KernelRecipe = DIV2KRK_X2, sf: float = 2.0) -> np.ndarray:
    """One kernel by the recipe's four steps (module docstring)."""
    l1, l2 = rng.uniform(recipe.min_var, recipe.max_var, size=2)
    theta = rng.uniform(0.0, math.pi)
    k = recipe.size
    raw = gaussian_taps(l1, l2, theta, k, k // 2 + 0.5 * (sf - k % 2))
    raw = raw * (1.0 + rng.uniform(-recipe.noise, recipe.noise, size=(k, k)))
    shifted = ndimage.shift(raw, zssr_centre(raw.shape, sf) - np.array(ndimage.center_of_mass(raw)))
    return shifted / shifted.sum()


def compose_x2(kernel: np.ndarray) -> np.ndarray:
    """The x4 kernel of an x2 kernel applied twice: ``K[s] = sum_u k[u] k[s - 2u]`` per axis (``3k - 2`` taps).

    Degrading by 2 with ``k`` twice equals correlating once with ``K`` and keeping every 4th row and column,
    away from the borders (``K``'s origin, its middle tap, is three times ``k``'s).
    """
    k = np.asarray(kernel, dtype=np.float64)
    dilated = np.zeros((2 * k.shape[0] - 1, 2 * k.shape[1] - 1))
    dilated[::2, ::2] = k
    return signal.convolve2d(dilated, k, mode="full")


def degrade(hr: np.ndarray, kernel: np.ndarray, scale: int) -> np.ndarray:
    """The LR image of ``hr`` (float ``HxWxC``, sides multiples of ``scale``) under an x2 ``kernel``: applied
    once for x2, twice for x4 (the recipe). Not rounded."""
    if scale not in (2, 4):
        raise ConfigError(f"the blind-SR recipe makes x2 or x4 data, not x{scale}")
    img = check_image(hr).astype(np.float64)
    h, w = img.shape[:2]
    if h % scale or w % scale:
        raise ConfigError(f"a {h}x{w} image must be cropped to a multiple of {scale} before degrading")
    for _ in range(scale // 2):
        img = kernel_downscale(img, kernel, (0.5, 0.5), (img.shape[0] // 2, img.shape[1] // 2))
    return img
