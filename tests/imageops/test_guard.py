"""The one image shape guard."""

import numpy as np
import pytest

from zssr_deploy.errors import InvalidImageError
from zssr_deploy.imageops.guard import check_image


def test_contract():
    a = np.zeros((4, 5))
    out = check_image(a)
    assert out.shape == (4, 5, 1) and np.shares_memory(out, a)  # a view, a channel axis added
    assert check_image(np.zeros((4, 5, 3))).shape == (4, 5, 3)
    assert check_image(np.zeros((4, 5, 7)), channels=None).shape == (4, 5, 7)
    with pytest.raises(InvalidImageError, match=r"C = 1 or 3, got shape \(4, 5, 2\)"):
        check_image(np.zeros((4, 5, 2)))
    with pytest.raises(InvalidImageError, match="HxW or HxWxC"):
        check_image(np.zeros(5))
    with pytest.raises(InvalidImageError, match="the image is 4x5; ZSSR needs at least 8 pixels"):
        check_image(a, min_side=8, needs="ZSSR")
    with pytest.raises(InvalidImageError, match="NaN"):
        check_image(np.full((4, 4), np.nan), finite=True)
    check_image(np.full((4, 4), np.nan))  # finiteness is checked only when asked for


def test_every_image_taker_uses_it():
    """The trainer, the resizer, the writer and the metrics refuse the same bad array with the guard's message."""
    from zssr_deploy.imageops.resize import imresize
    from zssr_deploy.io import write_image
    from zssr_deploy.metrics import psnr
    from zssr_deploy.trainers.fitting import plan_fit

    bad = np.zeros((9, 9, 2), np.float32)
    for call in (lambda: plan_fit(bad), lambda: write_image("x.png", bad), lambda: psnr(bad, bad)):
        with pytest.raises(InvalidImageError, match="got shape"):
            call()
    with pytest.raises(InvalidImageError, match="got shape"):
        imresize(np.zeros((2, 2, 2, 2)), 2)
