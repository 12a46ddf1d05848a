"""imresize against MATLAB semantics, with small inline arrays. Tolerances are stated per test."""

from fractions import Fraction

import numpy as np
import pytest

from zssr_deploy.errors import KernelError, ScaleError
from zssr_deploy.imageops.resize import (
    contributions,
    imresize,
    kernel_downscale,
    polyphase_taps,
)
from zssr_deploy.imageops.scale import output_length


def keys(x: Fraction) -> Fraction:
    """Keys cubic, a = -0.5, in exact rational arithmetic (independent of the code under test)."""
    ax = abs(x)
    if ax <= 1:
        return Fraction(3, 2) * ax**3 - Fraction(5, 2) * ax**2 + 1
    if ax <= 2:
        return Fraction(-1, 2) * ax**3 + Fraction(5, 2) * ax**2 - 4 * ax + 2
    return Fraction(0)


@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 2 / 3, 1.5, 2, 3, 4])
def test_constant_stays_constant(scale):
    img = np.full((13, 17, 3), 0.37)
    out = imresize(img, scale)
    np.testing.assert_allclose(out, 0.37, atol=1e-12)


@pytest.mark.parametrize(
    "shape,scale,expected", [((9, 10), 0.5, (5, 5)), ((9, 10), 2, (18, 20)), ((7, 7), 1 / 3, (3, 3)),
                             ((10, 11), 1.5, (15, 17)), ((9, 9), 1 / 1.5, (6, 6)), ((12, 12), (0.5, 0.25), (6, 3))]
)
def test_output_size_is_ceil(shape, scale, expected):
    assert imresize(np.zeros(shape), scale).shape == expected


def test_output_length_ignores_float_noise():
    assert output_length(9, 1 / 3) == 3
    assert output_length(10, 0.1) == 1
    assert output_length(9, 0.5) == 5


def test_identity_at_scale_one(rng):
    img = rng.random((7, 9, 3))
    np.testing.assert_array_equal(imresize(img, 1.0), img)


def test_antialiased_taps_at_one_half():
    w, idx = contributions(20, 10, 0.5)
    row = w[4][np.abs(w[4]) > 0]
    expected = np.array([-0.01171875, -0.03515625, 0.11328125, 0.43359375])
    np.testing.assert_allclose(row, np.r_[expected, expected[::-1]], atol=1e-15)
    assert list(idx[4][np.abs(w[4]) > 0]) == list(range(5, 13))  # centred on input 8.5 = (4 + 0.5) * 2 - 0.5


def test_antialiased_taps_at_one_quarter():
    w, idx = contributions(40, 10, 0.25)
    row = w[5][np.abs(w[5]) > 0]
    half = [Fraction(1, 4) * keys(Fraction(2 * k + 1, 8)) for k in range(8)]  # distances 0.5 .. 7.5, stretched by 4
    exact = np.array([float(v) for v in half[::-1] + half])
    np.testing.assert_allclose(row, exact / exact.sum(), atol=1e-15)
    assert list(idx[5][np.abs(w[5]) > 0]) == list(range(14, 30))  # centre 21.5 = (5 + 0.5) * 4 - 0.5, +-7.5


def test_upscale_taps_at_two():
    w, _ = contributions(10, 20, 2.0)
    # output 4 sits at input 1.75: distances to inputs 0..3 are 1.75, 0.75, -0.25, -1.25
    exact = [float(keys(Fraction(d, 4))) for d in (7, 3, -1, -5)]
    np.testing.assert_allclose(w[4][np.abs(w[4]) > 0], exact, atol=1e-15)


def test_symmetric_border():
    # Near the edge, taps that fall outside [a b c d e] read the mirror image (... b a | a b c d e | e d ...):
    # resizing x equals resizing its explicitly mirrored extension and cutting out the middle.
    x = np.array([0.0, 1.0, 5.0, 2.0, 3.0, 7.0])
    padded = np.r_[x[::-1], x, x[::-1]]  # 18 pixels; x starts at 6, a multiple of the period (1/s = 2)
    small = imresize(x[:, None], (0.5, 1.0))[:, 0]
    big = imresize(padded[:, None], (0.5, 1.0))[:, 0]
    np.testing.assert_allclose(small, big[3:6], atol=1e-12)
    w, idx = contributions(6, 3, 0.5)
    assert idx.min() >= 0 and idx.max() <= 5


def test_output_shape_plus_scale_case():
    # A 9-pixel father at s = 2 has a 5-pixel son that must come back to 9 pixels with the x2 sampling grid.
    father = np.linspace(0, 1, 9)[:, None]
    son = imresize(father, (0.5, 1.0))
    assert son.shape == (5, 1)
    back = imresize(son, (2.0, 1.0), output_shape=(9, 1))
    assert back.shape == (9, 1)
    full = imresize(son, (2.0, 1.0))  # 10 pixels on the same grid: the first 9 must agree
    np.testing.assert_allclose(back, full[:9], atol=1e-12)
    wrong_grid = imresize(son, output_shape=(9, 1))  # scale 9/5 is a different grid
    assert np.abs(wrong_grid - back).max() > 1e-3


def test_anisotropic_factors(rng):
    img = rng.random((12, 10))
    out = imresize(img, (2.0, 1.5))
    assert out.shape == (24, 15)
    # separable: equals resizing one axis then the other
    step = imresize(imresize(img, (1.0, 1.5)), (2.0, 1.0))
    np.testing.assert_allclose(out, step, atol=1e-12)


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.25, 2 / 3, 1.5, 2.0, 3.0, 4.0])
def test_polyphase_taps_reproduce_contributions(scale):
    taps = polyphase_taps(scale)
    n = 37
    w, idx = contributions(n, output_length(n, scale), scale)
    for i in range(len(w)):
        k, r = divmod(i, taps.p)
        dense = np.zeros(n)
        np.add.at(dense, idx[i], w[i])
        poly = np.zeros(n)
        for l_, tw in enumerate(taps.taps[r]):
            j = taps.q * k + taps.offset + l_
            m = j % (2 * n)
            poly[m if m < n else 2 * n - 1 - m] += tw
        np.testing.assert_allclose(poly, dense, atol=1e-12)


def test_irrational_scale_has_no_polyphase_form():
    with pytest.raises(ScaleError, match="not a ratio"):
        polyphase_taps(np.pi)


def test_numeric_kernel_path(rng):
    img = rng.random((16, 12, 3))
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0
    out = imresize(img, 0.5, kernel=delta)
    np.testing.assert_allclose(out, img[::2, ::2], atol=1e-12)  # a delta kernel only subsamples
    box = np.full((2, 2), 0.25)
    out = kernel_downscale(img[..., 0], box, (0.5, 0.5), (8, 6))
    # scipy origin for an even kernel is element (1, 1): output (i, j) averages rows i-1..i, cols j-1..j
    expected = (img[0:16:2, 0:12:2, 0] + np.r_[img[:1, :, 0], img[:-1, :, 0]][0:16:2, 0:12:2]
                + np.c_[img[:, :1, 0], img[:, :-1, 0]][0:16:2, 0:12:2]
                + np.r_[np.c_[img[:1, :1, 0], img[:1, :-1, 0]], np.c_[img[:-1, :1, 0], img[:-1, :-1, 0]]][0:16:2, 0:12:2]) / 4
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_numeric_kernel_cannot_upscale():
    with pytest.raises(ScaleError):
        imresize(np.zeros((8, 8)), 2.0, kernel=np.ones((3, 3)) / 9)


def test_kernel_larger_than_image():
    with pytest.raises(KernelError, match="larger than the image"):
        imresize(np.zeros((4, 4)), 0.5, kernel=np.ones((7, 7)) / 49)
