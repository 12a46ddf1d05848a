import numpy as np
import pytest
import torch

import zssr_deploy.trainers.zssr as zssr_mod
from zssr_deploy.errors import ConfigError, InvalidImageError, KernelError
from zssr_deploy.evaluate import score_image
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.trainers.config import PRESETS, ZSSRConfig, gradual_schedule, parse_scale
from zssr_deploy.trainers.zssr import fit

FAST = dict(max_iters=150, crop_size=48, device="cpu", precision="fp32")


def test_short_fit_beats_bicubic(photo):
    """On a real photo crop (96x96 HR, x2), 150 iterations beat MATLAB bicubic by more than 0.5 dB Y-PSNR."""
    cfg = ZSSRConfig(**FAST)
    zssr = score_image(photo.astype(np.float64), 2, lambda lr, s: fit(lr, cfg).output)
    bicubic = score_image(photo.astype(np.float64), 2)
    assert zssr.psnr_y > bicubic.psnr_y + 0.5, (zssr.psnr_y, bicubic.psnr_y)


def test_same_seed_same_output(photo):
    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    cfg = ZSSRConfig(max_iters=20, crop_size=16, device="cpu", precision="fp32", seed=5)
    a, b = fit(lr, cfg).output, fit(lr, cfg).output
    np.testing.assert_array_equal(a, b)
    c = fit(lr, cfg.replace(seed=6)).output
    assert not np.array_equal(a, c)


def test_grayscale_in_grayscale_out(photo):
    lr = imresize(photo, 0.5)[:20, :24, :1].astype(np.float32)
    out = fit(lr, ZSSRConfig(max_iters=5, crop_size=16, device="cpu")).output
    assert out.shape == (40, 48, 1)


def test_anisotropic_and_fractional_scales(photo):
    lr = imresize(photo, 0.5)[:20, :24].astype(np.float32)
    out = fit(lr, ZSSRConfig(scale_factors=((2.0, 1.5),), max_iters=5, crop_size=16, device="cpu")).output
    assert out.shape == (40, 36, 3)
    out = fit(lr, ZSSRConfig(scale_factors=((2.5, 2.5),), max_iters=5, crop_size=16, device="cpu")).output
    assert out.shape == (50, 60, 3)


def test_gradual_outputs_join_the_sources(photo, monkeypatch):
    seen = []
    real = zssr_mod.sample_father

    def spy(sources, base_scales, max_scale, rng, settings):
        seen.append((len(sources), max_scale))
        return real(sources, base_scales, max_scale, rng, settings)

    monkeypatch.setattr(zssr_mod, "sample_father", spy)
    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    cfg = ZSSRConfig(scale_factors=((1.5, 1.5), (2.0, 2.0)), back_projection_iters=(2, 2), max_iters=4,
                     crop_size=16, device="cpu")
    res = fit(lr, cfg)
    assert [n for n, _ in seen] == [1] * 4 + [2] * 4
    assert [m for _, m in seen] == [1.0] * 4 + [1.5] * 4
    assert len(res.steps) == 2 and res.output.shape == (48, 48, 3)


def test_base_change_makes_output_the_input(photo):
    lr = imresize(photo, 0.5)[:16, :16].astype(np.float32)
    cfg = ZSSRConfig(scale_factors=((2.0, 2.0), (4.0, 4.0)), back_projection_iters=(1, 1), base_change_scales=(2.0,),
                     max_iters=3, crop_size=16, device="cpu")
    res = fit(lr, cfg)
    assert res.steps[1].scale == (2.0, 2.0)  # relative to the new base
    assert res.pipeline_input.shape == (32, 32, 3) and res.output.shape == (64, 64, 3)


def test_kernel_path_runs_without_rotations(photo, monkeypatch):
    flags = []
    real = zssr_mod.sample_father

    def spy(sources, base_scales, max_scale, rng, settings):
        flags.append(settings.allow_rotation)
        return real(sources, base_scales, max_scale, rng, settings)

    monkeypatch.setattr(zssr_mod, "sample_father", spy)
    kernel = np.zeros((7, 7))
    kernel[3, 2:6] = 1.0  # a horizontal motion blur: not symmetric under rotation
    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    res = fit(lr, ZSSRConfig(max_iters=3, crop_size=16, device="cpu"), kernel=kernel)
    assert flags and not any(flags)
    assert res.pipeline.transforms == [0]
    assert res.pipeline.down.numeric is not None


def test_large_input_uses_fixed_test_crops():
    trainer = zssr_mod._Trainer(ZSSRConfig(device="cpu", test_max_pixels=64 * 64), 3)
    regions = trainer.test_regions(torch.rand(1, 3, 400, 300))
    assert len(regions) == 4 and sum(r.numel() for r in regions) == 4 * 3 * 32 * 32
    assert len(trainer.test_regions(torch.rand(1, 3, 60, 60))) == 1


@pytest.mark.parametrize(
    "scale,hw,err",
    [(1.0, (32, 32), ConfigError), (0.5, (32, 32), ConfigError), (8.0, (10, 10), ConfigError),
     (2.0, (6, 30), InvalidImageError)],
)
def test_bad_inputs(scale, hw, err):
    with pytest.raises(err):
        cfg = ZSSRConfig(device="cpu").with_scale(parse_scale(scale))
        fit(np.zeros(hw + (3,), np.float32), cfg)


def test_kernel_larger_than_image():
    with pytest.raises(KernelError, match="larger than"):
        fit(np.zeros((10, 10, 3), np.float32), ZSSRConfig(device="cpu"), kernel=np.ones((13, 13)))


def test_presets_and_schedules():
    assert PRESETS["ideal"].back_projection_iters == (10,) and PRESETS["ideal"].ensemble
    assert PRESETS["given-kernel"].allow_rotation is False and PRESETS["given-kernel"].back_projection_iters == (2,)
    assert PRESETS["real"].noise_std == 0.0125 and PRESETS["real"].min_scale == 0.75
    assert len(PRESETS["gradual"].scale_factors) == 6
    assert gradual_schedule((2.0, 2.0)) == (PRESETS["gradual"].scale_factors, (6, 6, 8, 10, 10, 12), ())
    # x4: the paper's 6-step x2 schedule, a base change at 2, then the same 6 steps relative to it
    steps, bps, bases = gradual_schedule((4.0, 4.0))
    assert steps[:6] == PRESETS["gradual"].scale_factors and bases == (2.0,)
    assert steps[6:] == ((2.0, 3.0), (3.0, 2.0), (3.0, 3.0), (3.0, 4.0), (4.0, 3.0), (4.0, 4.0))
    assert bps == (6, 6, 8, 10, 10, 12) * 2
    assert PRESETS["gradual"].with_scale(4.0).scale_factors == steps
    # an axis that does not grow drops the steps that would not upscale or would repeat one
    assert gradual_schedule((1.0, 2.0)) == (((1.0, 1.5), (1.0, 2.0)), (6, 10), ())
    assert gradual_schedule((4.0, 2.0))[0][6:] == ((3.0, 2.0), (4.0, 2.0))
    assert PRESETS["ideal"].with_scale((3.0, 3.0)).scale_factors == ((3.0, 3.0),)
    assert parse_scale("2,1.5") == (2.0, 1.5)
    with pytest.raises(ConfigError):
        parse_scale("abc")


@pytest.mark.parametrize("fresh,expected", [(True, [4, 4]), (False, [4, 8])])
def test_adam_moments_restart_with_each_scale_step(photo, monkeypatch, fresh, expected):
    """By default each gradual step starts Adam afresh (weights kept); False keeps the moments, as the
    released code did. Adam's step counter tells which."""
    counts = []
    real = zssr_mod._Trainer.train_step

    def spy(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        counts.append(int(next(iter(self.optimizer.state.values()))["step"]))
        return out

    monkeypatch.setattr(zssr_mod._Trainer, "train_step", spy)
    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    cfg = ZSSRConfig(scale_factors=((1.5, 1.5), (2.0, 2.0)), back_projection_iters=(1, 1), max_iters=4,
                     crop_size=16, device="cpu", fresh_optimizer_each_step=fresh)
    fit(lr, cfg)
    assert counts == expected


def test_base_changes_are_checked_against_the_steps():
    """A base change must name an earlier isotropic step (in order) and later steps must still upscale it."""
    two_halves = ((2.0, 2.0), (2.0, 3.0), (4.0, 4.0))  # x2, base change, then x1.5 / x2 relative to it
    assert ZSSRConfig(scale_factors=two_halves, back_projection_iters=(1, 1, 1),
                      base_change_scales=(2.0,)).base_change_scales == (2.0,)
    bad = [
        (((2.0, 2.0), (4.0, 4.0)), (3.0,), "matches no isotropic step"),
        (((2.0, 2.0), (4.0, 4.0)), (4.0,), "matches no isotropic step"),  # the last step: nothing follows it
        (((2.0, 2.0), (3.0, 3.0), (4.0, 4.0)), (3.0, 2.0), "matches no isotropic step"),  # out of order
        (((2.0, 2.0), (1.5, 3.0), (4.0, 4.0)), (2.0,), "does not upscale"),  # x0.75 vertically after the base
        (((1.5, 2.0), (4.0, 4.0)), (2.0,), "matches no isotropic step"),  # (1.5, 2) is not isotropic
    ]
    for steps, bases, msg in bad:
        with pytest.raises(ConfigError, match=msg):
            ZSSRConfig(scale_factors=steps, back_projection_iters=(1,) * len(steps), base_change_scales=bases)
    for s in [(4.0, 4.0), (8.0, 8.0), (3.0, 4.0), (2.5, 2.5), (4.0, 2.0), (1.5, 1.5), (1.0, 2.0)]:  # all valid
        steps, bps, bases = gradual_schedule(s)
        ZSSRConfig(scale_factors=steps, back_projection_iters=bps, base_change_scales=bases)
