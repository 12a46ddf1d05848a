"""Golden images: results on a real photo crop must not drift (update with pytest --update-golden)."""

import numpy as np

from zssr_deploy.imageops.kernels import random_gaussian_kernel, shift_kernel
from zssr_deploy.imageops.resize import imresize


def test_bicubic_golden(photo, golden):
    crop = photo[:24, :20].astype(np.float64)
    golden("bicubic_down2", imresize(crop, 0.5), atol=1e-6)
    golden("bicubic_up1.5", imresize(crop, 1.5), atol=1e-6)


def test_kernel_golden(photo, golden):
    k = shift_kernel(random_gaussian_kernel(2.0, seed=4), 2.0)
    golden("kernel_down2", imresize(photo[:24, :20].astype(np.float64), 0.5, kernel=k), atol=1e-6)
