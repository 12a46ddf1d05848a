"""Short fits against outputs saved before the trainer was reshaped (``pytest --update-golden`` rewrites them).

The files were written by the trainer as it stood before ``fit()`` was split into named steps; a refactor
must give the same pixels for the same seed. On the machine that recorded them the outputs are equal bit for
bit; the tolerance (1e-4) only absorbs oneDNN's summation order on other CPU models (AVX2 vs AVX-512).
"""

import numpy as np
import pytest

from zssr_deploy.imageops.resize import imresize
from zssr_deploy.trainers import fit
from zssr_deploy.trainers.config import ZSSRConfig

BASE = dict(crop_size=16, device="cpu", precision="fp32", seed=7)
MOTION = np.zeros((7, 7))
MOTION[3, 1:6] = [1, 2, 3, 2, 1]  # horizontal blur: turns rotations and the ensemble off

CASES = {
    # one jump x2 with the ensemble and 10 back-projections; a learning-rate rule fast enough to drop
    "x2": (dict(max_iters=120, test_every=5, lr_check_every=10, min_iters=20, lr_slope_range=25), None, 3),
    # three gradual steps with a base change after x2
    "gradual": (dict(scale_factors=((1.5, 1.5), (2.0, 2.0), (3.0, 3.0)), back_projection_iters=(1, 2, 1),
                     base_change_scales=(2.0,), max_iters=8, test_every=2), None, 3),
    # anisotropic, a numeric kernel, noisy sons, the released code's father geometry
    "kernel": (dict(scale_factors=((2.0, 1.5),), back_projection_iters=(2,), noise_std=0.01, max_iters=15,
                    father_placement="released"), MOTION, 3),
    "gray": (dict(max_iters=10), None, 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_output_matches_saved(name, photo, golden):
    fields, kernel, channels = CASES[name]
    lr = imresize(photo, 0.5)[:22, :26, :channels].astype(np.float32)
    res = fit(lr, ZSSRConfig(**BASE, **fields), kernel=kernel)
    golden(f"fit_{name}", res.output, atol=1e-4)
    schedule = [v for s in res.steps for v in (s.iterations, len(s.learning_rate_drops), *s.learning_rate_drops)]
    golden(f"fit_{name}_schedule", np.array(schedule, np.float32), atol=0)
