import numpy as np

from zssr_deploy.imageops.color import rgb2ycbcr, rgb_to_y255, ycbcr2rgb


def test_known_values():
    # MATLAB: rgb2ycbcr([1 1 1]) = [235 128 128]/255, rgb2ycbcr([0 0 0]) = [16 128 128]/255
    out = rgb2ycbcr(np.array([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]]))
    np.testing.assert_allclose(out[0, 0] * 255, [235.0, 128.0, 128.0], atol=1e-9)
    np.testing.assert_allclose(out[0, 1] * 255, [16.0, 128.0, 128.0], atol=1e-9)
    np.testing.assert_allclose(rgb_to_y255(np.array([[[1.0, 0.0, 0.0]]])), [[16 + 65.481]], atol=1e-9)


def test_round_trip(rng):
    rgb = rng.random((5, 4, 3))
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(rgb)), rgb, atol=1e-12)


def test_single_channel_has_no_offset():
    g = np.array([[0.5, 1.0]])
    np.testing.assert_allclose(rgb_to_y255(g[..., None]), [[127.5, 255.0]])
