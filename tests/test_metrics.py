import numpy as np
import pytest

from zssr_deploy.errors import InvalidImageError
from zssr_deploy.metrics import psnr, ssim


def test_psnr_known_value():
    a = np.zeros((10, 10))
    b = np.full((10, 10), 10.0)  # MSE 100 -> 10 log10(65025 / 100) = 28.1308...
    assert psnr(a, b) == pytest.approx(10 * np.log10(65025 / 100), abs=1e-12)
    assert psnr(a, a) == float("inf")


def test_psnr_shave_ignores_borders():
    a = np.zeros((10, 10))
    b = a.copy()
    b[0, :] = 255
    assert psnr(a, b, shave=1) == float("inf")


def test_ssim_identity_and_range(rng):
    a = rng.random((32, 32)) * 255
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    b = a + rng.normal(0, 20, a.shape)
    assert 0 < ssim(a, b) < 0.99


def test_ssim_constant_offset_matches_closed_form():
    # Constant images: only the luminance term remains, (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
    a, b = np.full((20, 20), 100.0), np.full((20, 20), 110.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b) == pytest.approx((2 * 100 * 110 + c1) / (100**2 + 110**2 + c1), abs=1e-12)


def test_shape_mismatch():
    with pytest.raises(InvalidImageError):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))
