import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def photo():
    """A 96x96 RGB crop of scikit-image's astronaut (ships with the package), float32 in [0, 1]."""
    from zssr_deploy.samples import load_sample

    img = load_sample("astronaut")
    return np.ascontiguousarray(img[60:156, 170:266])
