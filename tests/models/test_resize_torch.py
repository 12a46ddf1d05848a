"""The torch polyphase resize against the numpy reference (float32 vs float64: tolerance 2e-6)."""

import numpy as np
import pytest
import torch

from zssr_deploy.imageops.kernels import random_gaussian_kernel, shift_kernel
from zssr_deploy.imageops.resize import imresize, kernel_sample_indices, mirror_index
from zssr_deploy.models.resize import Resize, kernel_sample_rows, mirror_indices


def to_t(a):
    return torch.from_numpy(np.ascontiguousarray(a.astype(np.float32).transpose(2, 0, 1)))[None]


def to_np(t):
    return t[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("shape", [(9, 9), (13, 17), (40, 33), (5, 7)])
@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.25, 2 / 3, 1.5, 2.0, 3.0, 4.0, (2.0, 1.5), (0.5, 1 / 1.5)])
def test_matches_numpy(shape, scale, rng):
    img = rng.random(shape + (3,))
    ref = imresize(img, scale)
    out = to_np(Resize(scale)(to_t(img)))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=2e-6)


def test_explicit_output_shape(rng):
    img = rng.random((5, 5, 3))
    ref = imresize(img, 2.0, output_shape=(9, 9))
    out = to_np(Resize(2.0)(to_t(img), (9, 9)))
    np.testing.assert_allclose(out, ref, atol=2e-6)


@pytest.mark.parametrize("shape", [(64, 64), (33, 41)])
def test_numeric_kernel_matches_numpy(shape, rng):
    k = shift_kernel(random_gaussian_kernel(2.0, seed=3), 2.0)
    img = rng.random(shape + (3,))
    ref = imresize(img, 0.5, kernel=k)
    out = to_np(Resize(0.5, k)(to_t(img)))
    np.testing.assert_allclose(out, ref, atol=2e-6)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 17])
def test_mirror_indices_match_numpy(n):
    """The torch gather indices and the numpy taps' indices reflect alike, far outside the image too."""
    for start, length in [(-3 * n - 2, 7 * n + 5), (0, n), (-1, 3)]:
        got = mirror_indices(n, start, length, torch.device("cpu")).numpy()
        np.testing.assert_array_equal(got, mirror_index(np.arange(start, start + length), n))
    np.testing.assert_array_equal(mirror_index(np.array([-2, -1, 0, n - 1, n, n + 1]), n)[[1, 2, 3, 4]],
                                  [0, 0, n - 1, n - 1])  # half-sample symmetric: the edge pixel repeats


@pytest.mark.parametrize("scale", [2.0, 3.0, 4.0, 1.5, 2.5, 4 / 3])
def test_kernel_sample_rows_match_numpy(scale):
    """The rows kept after blurring, in torch (float64, as numpy's linspace), equal numpy's, exact halves
    included."""
    for n in range(2, 60):
        out_n = max(1, int(np.ceil(n / scale - 1e-9)))
        got = kernel_sample_rows(n, out_n, 1.0 / scale, torch.device("cpu")).numpy()
        np.testing.assert_array_equal(got, kernel_sample_indices(n, out_n, 1.0 / scale))
