"""The torch polyphase resize against the numpy reference (float32 vs float64: tolerance 2e-6)."""

import numpy as np
import pytest
import torch

from zssr_deploy.imageops.kernels import random_gaussian_kernel, shift_kernel
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.models.resize import Resize


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
