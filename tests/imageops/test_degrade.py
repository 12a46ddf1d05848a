"""DIV2KRK's recipe for blind-SR data (tolerances: float64 rounding unless stated)."""

import numpy as np
import pytest
from scipy import ndimage

from zssr_deploy.errors import ConfigError
from zssr_deploy.imageops.degrade import DIV2KRK_X2, compose_x2, degrade, image_seed, random_kernel
from zssr_deploy.imageops.resize import kernel_downscale


@pytest.mark.parametrize("seed", range(5))
def test_kernel_follows_the_recipe(seed):
    k = random_kernel(image_seed(seed, "img"))
    assert k.shape == (11, 11) and k.sum() == pytest.approx(1.0, abs=1e-12)
    # centre of mass at size/2 + 0.5 (sf - size % 2) = 6 (the spline shift is exact to ~0.05 pixels)
    np.testing.assert_allclose(ndimage.center_of_mass(k), (6.0, 6.0), atol=0.06)
    assert k.min() > -0.01 * k.max()  # the spline shift rings only slightly
    # spread within the variances' range (0.6 .. 5 along the principal axes)
    yy, xx = np.mgrid[:11, :11]
    cy, cx = ndimage.center_of_mass(k)
    cov = np.array([[(k * (yy - cy) ** 2).sum(), (k * (yy - cy) * (xx - cx)).sum()],
                    [(k * (yy - cy) * (xx - cx)).sum(), (k * (xx - cx) ** 2).sum()]])
    lo, hi = np.linalg.eigvalsh(cov)
    assert 0.6 * 0.7 < lo and hi < 5.0 * 1.3  # noise and the 11x11 crop move them a little


def test_kernels_depend_on_seed_and_name_only():
    a = random_kernel(image_seed(0, "a"))
    np.testing.assert_array_equal(a, random_kernel(image_seed(0, "a")))
    assert not np.array_equal(a, random_kernel(image_seed(1, "a")))
    assert not np.array_equal(a, random_kernel(image_seed(0, "b")))


def test_degrade_keeps_rows_0_s_2s():
    """Correlate (symmetric borders), then rows and columns 0, 2, 4, ...: a delta at an even position lands on
    one LR pixel carrying the kernel's middle tap."""
    hr = np.zeros((40, 40, 1))
    hr[20, 16] = 1.0
    k = random_kernel(image_seed(3, "x"))
    lr = degrade(hr, k, 2)
    assert lr.shape == (20, 20, 1)
    # out[i, j] = sum k[t, u] hr[2i + t - 5, 2j + u - 5]: the delta at (20, 16) is seen by tap (20 - 2i + 5, ...)
    i, j = 10, 8
    assert lr[i, j, 0] == pytest.approx(k[5, 5])
    assert lr[i - 1, j, 0] == pytest.approx(k[7, 5]) and lr[i, j + 1, 0] == pytest.approx(k[5, 3])


def test_x4_is_the_x2_kernel_twice():
    k = random_kernel(image_seed(0, "four"))
    big = compose_x2(k)
    assert big.shape == (31, 31) and big.sum() == pytest.approx(1.0)
    hr = np.random.default_rng(0).random((64, 64, 3))
    twice = degrade(hr, k, 4)
    once = kernel_downscale(hr, big, (0.25, 0.25), (16, 16))
    np.testing.assert_allclose(twice[4:-4, 4:-4], once[4:-4, 4:-4], atol=1e-12)  # equal away from the borders


def test_bad_scales_and_sizes():
    with pytest.raises(ConfigError, match="x3"):
        degrade(np.zeros((12, 12, 3)), random_kernel(image_seed(0, "a")), 3)
    with pytest.raises(ConfigError, match="multiple of 4"):
        degrade(np.zeros((30, 32, 3)), random_kernel(image_seed(0, "a")), 4)
    assert DIV2KRK_X2.size == 11 and (DIV2KRK_X2.min_var, DIV2KRK_X2.max_var, DIV2KRK_X2.noise) == (0.6, 5.0, 0.25)
