import math

import numpy as np
import pytest
from scipy import ndimage
from scipy.io import savemat

from zssr_deploy.errors import KernelError
from zssr_deploy.imageops.kernels import gaussian_taps, load_kernel, random_gaussian_kernel, shift_kernel, validate_kernel


def test_validate_normalises():
    k = validate_kernel(np.array([[1.0, 2.0], [3.0, 2.0]]))
    np.testing.assert_allclose(k.sum(), 1.0, atol=1e-15)
    np.testing.assert_allclose(k[1, 0], 0.375, atol=1e-15)


@pytest.mark.parametrize(
    "bad,match",
    [(np.array([[np.nan, 1.0]]), "NaN"), (np.array([[1.0, -2.0]]), "sum"), (np.zeros((0, 0)), "empty"),
     (np.ones(5), "2-D"), (np.ones((2, 2, 2)), "2-D")],
)
def test_validate_rejects(bad, match):
    with pytest.raises(KernelError, match=match):
        validate_kernel(bad)


@pytest.mark.parametrize("name", ["Kernel", "kernel"])
def test_load_mat(tmp_path, name):
    k = np.outer([1, 2, 1], [1, 2, 1]).astype(float)
    savemat(tmp_path / "k.mat", {name: k})
    np.testing.assert_allclose(load_kernel(tmp_path / "k.mat"), k / 16, atol=1e-15)


def test_load_npy_txt_csv(tmp_path):
    k = np.array([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]])
    np.save(tmp_path / "k.npy", k)
    np.savetxt(tmp_path / "k.txt", k)
    np.savetxt(tmp_path / "k.csv", k, delimiter=",")
    for f in ("k.npy", "k.txt", "k.csv"):
        np.testing.assert_allclose(load_kernel(tmp_path / f), k / 8, atol=1e-15)


def test_load_errors(tmp_path):
    with pytest.raises(KernelError, match="does not exist"):
        load_kernel(tmp_path / "none.mat")
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(KernelError, match="empty"):
        load_kernel(tmp_path / "empty.npy")
    savemat(tmp_path / "other.mat", {"weights": np.ones((3, 3))})
    with pytest.raises(KernelError, match="no variable 'Kernel'"):
        load_kernel(tmp_path / "other.mat")
    (tmp_path / "k.png").write_bytes(b"x")
    with pytest.raises(KernelError, match="unknown type"):
        load_kernel(tmp_path / "k.png")
    (tmp_path / "bad.txt").write_text("a b\nc d\n")
    with pytest.raises(KernelError, match="cannot read"):
        load_kernel(tmp_path / "bad.txt")


@pytest.mark.parametrize("size", [13, 12])
def test_shift_kernel_moves_centre_of_mass(size):
    k = np.zeros((size, size))
    k[3, 4] = 1.0
    k = ndimage.gaussian_filter(k, 1.0)
    shifted = shift_kernel(k, 2.0)
    pad = (shifted.shape[0] - size) // 2
    wanted = size / 2 + 0.5 * (2 - size % 2) + pad
    np.testing.assert_allclose(ndimage.center_of_mass(shifted), (wanted, wanted), atol=0.02)
    np.testing.assert_allclose(shifted.sum(), 1.0, atol=1e-3)


def test_random_gaussian_is_seeded_and_valid():
    a, b = random_gaussian_kernel(2.0, seed=7), random_gaussian_kernel(2.0, seed=7)
    c = random_gaussian_kernel(2.0, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (13, 13)
    np.testing.assert_allclose(a.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(ndimage.center_of_mass(a), (6.0, 6.0), atol=1e-9)  # centred, symmetric
    np.testing.assert_allclose(a, a[::-1, ::-1], atol=1e-15)


def test_gaussian_taps_is_the_covariance_gaussian():
    # isotropic, variance 2, centred on the middle tap of 3x3: exp(-(x^2 + y^2) / 4)
    want = np.exp(-np.array([[2.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 2.0]]) / 4.0)
    np.testing.assert_allclose(gaussian_taps(2.0, 2.0, 0.3, 3, 1.0), want, rtol=1e-12)
    # theta rotates the major axis: 90 degrees swaps the variances; y up mirrors the rows about the centre
    np.testing.assert_allclose(gaussian_taps(4.0, 0.5, math.pi / 2, 7, 3.0), gaussian_taps(0.5, 4.0, 0.0, 7, 3.0),
                               rtol=1e-12)
    tilted = gaussian_taps(4.0, 0.5, 0.6, 7, 3.0)
    np.testing.assert_allclose(gaussian_taps(4.0, 0.5, 0.6, 7, 3.0, y_up=True), tilted[::-1], rtol=1e-12)
    assert not np.allclose(tilted, tilted[::-1])  # the mirror is not trivially equal
    # off-centre: the peak sits on the asked centre
    assert np.unravel_index(np.argmax(gaussian_taps(1.0, 1.0, 0.0, 9, 5.0)), (9, 9)) == (5, 5)
