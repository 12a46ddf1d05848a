"""Packed fits (several images' networks in shared grouped convolutions) against the same fits run alone."""

import numpy as np
import pytest

from zssr_deploy.errors import ConfigError
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.trainers import fit, plan_fit
from zssr_deploy.trainers.config import ZSSRConfig
from zssr_deploy.trainers.packed import MAX_PACK, fit_packed, member_bytes, pack_size, packed_fits

BASE = dict(crop_size=16, device="cpu", precision="fp32", test_every=5, lr_check_every=10, min_iters=20,
            lr_slope_range=25)
MOTION = np.zeros((5, 5))
MOTION[2, 1:4] = [1, 2, 1]  # a horizontal blur: rotations and the ensemble off for that member


def _members(photo):
    """Three images of different sizes (so their fathers differ in shape, and some are smaller than the
    16-pixel crop), seeds, kernels, learning-rate rules and stops: the third stops at 25 iterations, the
    others run on to 60 or until their rate falls."""
    a = imresize(photo, 0.5)[:22, :26].astype(np.float32)
    b = imresize(photo, 0.4)[3:17, :19].astype(np.float32)
    c = imresize(photo, 0.6)[10:30, 5:23].astype(np.float32)
    return [(a, ZSSRConfig(**BASE, seed=1, max_iters=60), None),
            (b, ZSSRConfig(**BASE, seed=2, max_iters=60, learning_rate=0.002), MOTION),
            (c, ZSSRConfig(**BASE, seed=3, max_iters=25, scale_factors=((2.0, 1.5),), back_projection_iters=(2,)),
             None)]


def test_a_pack_of_one_is_the_lone_fit_bit_for_bit(photo):
    img, cfg, kernel = _members(photo)[0]
    lone = fit(img, cfg, kernel=kernel)
    (packed,) = fit_packed([plan_fit(img, cfg, kernel)])
    np.testing.assert_array_equal(packed.output, lone.output)
    assert [s.iterations for s in packed.steps] == [s.iterations for s in lone.steps]


def test_three_packed_fits_equal_their_lone_fits(photo):
    """Same seeds, same pixels to 1e-4 (the grouped convolution sums in another order than three plain ones;
    measured on an AMD EPYC, 1 or 2 threads: at most 1.4e-5 after 60 iterations; 1e-4 as the golden fits allow
    for other CPU models), same iteration counts and learning-rate drops; the member
    that stops first is handed over first, while the others train on."""
    members = _members(photo)
    lone = [fit(img, cfg, kernel=k) for img, cfg, k in members]
    seen: dict[int, int] = {}
    finished = list(packed_fits([plan_fit(img, cfg, k) for img, cfg, k in members],
                                progress=lambda i, p: seen.__setitem__(i, p.iteration)))
    assert finished[0][0] == 2 and sorted(i for i, _ in finished) == [0, 1, 2]
    packed = [r for _, r in sorted(finished, key=lambda t: t[0])]
    for p, l in zip(packed, lone):
        assert p.output.shape == l.output.shape
        np.testing.assert_allclose(p.output, l.output, atol=1e-4)
        assert [(s.iterations, s.learning_rate_drops) for s in p.steps] == \
               [(s.iterations, s.learning_rate_drops) for s in l.steps]
    assert seen == {i: r.steps[-1].iterations for i, r in enumerate(lone)}
    # the non-symmetric kernel's member kept its own settings (no ensemble), the others theirs
    assert len(packed[1].pipeline.transforms) == 1 < len(packed[0].pipeline.transforms)


def test_gradual_members_step_on_inside_the_pack(photo):
    """A two-step gradual fit changes scale step inside the pack (fresh optimizer, new kernel re-centring)
    while a one-step member trains beside it."""
    img, _, _ = _members(photo)[0]
    gradual = ZSSRConfig(**BASE, seed=4, max_iters=12, scale_factors=((1.5, 1.5), (2.0, 2.0)),
                         back_projection_iters=(1, 1))
    single = ZSSRConfig(**BASE, seed=5, max_iters=30)
    lone = [fit(img, gradual), fit(img, single)]
    packed = fit_packed([plan_fit(img, gradual), plan_fit(img, single)])
    for p, l in zip(packed, lone):
        np.testing.assert_allclose(p.output, l.output, atol=1e-4)
        assert len(p.steps) == len(l.steps)


def test_unpackable_members_are_refused(photo):
    img, cfg, _ = _members(photo)[0]
    with pytest.raises(ConfigError, match="network width"):
        fit_packed([plan_fit(img, cfg), plan_fit(img, cfg.replace(width=32))])
    assert fit_packed([]) == []


def test_pack_size_follows_free_memory():
    cfg = ZSSRConfig(crop_size=128)
    per = member_bytes(cfg)
    assert per == 2 * 3 * 8 * 64 * 128 * 128 * 4  # 201 MB: generous (a member's activations are about a third)
    assert pack_size(cfg, 14, None) == 14 and pack_size(cfg, 100, None) == MAX_PACK
    assert pack_size(cfg, 14, 10 * per) == 5  # half the free memory
    assert pack_size(cfg, 14, 0) == 1  # never below one: a lone fit is what runs without a pack
