import numpy as np
import pytest
import torch

from zssr_deploy.errors import ConfigError, InvalidImageError, KernelError
from zssr_deploy.evaluate import score_image
from zssr_deploy.imageops.resize import imresize
from zssr_deploy.trainers.config import ZSSRConfig, parse_scale
from zssr_deploy.trainers.fitting import fit, plan_fit
from zssr_deploy.trainers.step import reconstruction_regions

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


def test_gradual_outputs_join_the_sources(photo):
    """Each step's fathers come from the input and every earlier output, up to the newest one's scale."""
    seen = []

    def on_step(ev):
        if ev.phase == "start":
            seen.append((len(ev.state.sources), ev.state.max_father_scale, tuple(s.shape for s in ev.state.sources)))

    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    cfg = ZSSRConfig(scale_factors=((1.5, 1.5), (2.0, 2.0)), back_projection_iters=(2, 2), max_iters=4,
                     crop_size=16, device="cpu")
    res = fit(lr, cfg, on_step=on_step)
    assert [(n, m) for n, m, _ in seen] == [(1, 1.0), (2, 1.5)]
    assert seen[1][2] == ((3, 24, 24), (3, 36, 36))  # the x1.5 output joined the input
    assert len(res.steps) == 2 and res.output.shape == (48, 48, 3)


def test_base_change_makes_output_the_input(photo):
    lr = imresize(photo, 0.5)[:16, :16].astype(np.float32)
    cfg = ZSSRConfig(scale_factors=((2.0, 2.0), (4.0, 4.0)), back_projection_iters=(1, 1), base_change_scales=(2.0,),
                     max_iters=3, crop_size=16, device="cpu")
    res = fit(lr, cfg)
    assert res.steps[1].scale == (2.0, 2.0)  # relative to the new base
    assert res.pipeline_input.shape == (32, 32, 3) and res.output.shape == (64, 64, 3)


def test_kernel_path_runs_without_rotations(photo):
    flags = []
    kernel = np.zeros((7, 7))
    kernel[3, 2:6] = 1.0  # a horizontal motion blur: not symmetric under rotation
    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    res = fit(lr, ZSSRConfig(max_iters=3, crop_size=16, device="cpu"), kernel=kernel,
              on_step=lambda ev: flags.append((ev.state.config.allow_rotation, ev.state.config.ensemble)))
    assert flags == [(False, False)] * 2  # start and end of the one step
    assert res.pipeline.transforms == [0]
    assert res.pipeline.down.numeric is not None


def test_large_input_uses_fixed_test_crops():
    cfg = ZSSRConfig(device="cpu", test_max_pixels=64 * 64)
    image = torch.rand(1, 3, 400, 300)
    regions = reconstruction_regions(image, cfg)
    assert len(regions) == 4 and sum(r.numel() for r in regions) == 4 * 3 * 32 * 32
    assert all(torch.equal(a, b) for a, b in zip(regions, reconstruction_regions(image, cfg)))  # fixed crops
    assert len(reconstruction_regions(torch.rand(1, 3, 60, 60), cfg)) == 1


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


@pytest.mark.parametrize("fresh,expected", [(True, [4, 4]), (False, [4, 8])])
def test_adam_moments_restart_with_each_scale_step(photo, fresh, expected):
    """By default each gradual step starts Adam afresh (weights kept); False keeps the moments, as the
    released code did. Adam's step counter tells which."""
    counts = []

    def on_step(ev):
        if ev.phase == "end":
            counts.append(int(next(iter(ev.state.optimizer.state.values()))["step"]))

    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    cfg = ZSSRConfig(scale_factors=((1.5, 1.5), (2.0, 2.0)), back_projection_iters=(1, 1), max_iters=4,
                     crop_size=16, device="cpu", fresh_optimizer_each_step=fresh)
    fit(lr, cfg, on_step=on_step)
    assert counts == expected


def test_plan_checks_once_and_knows_the_final_halo(photo):
    """plan_fit validates the kernel (normalised to sum 1), re-centres it per step for that step's relative
    factor, and gives the final pipeline's halo before any training: the one a fitted pipeline reports."""
    kernel = np.outer([1, 2, 1], [1, 2, 1]).astype(float)  # symmetric: rotations stay on
    lr = imresize(photo, 0.5)[:24, :24].astype(np.float32)
    cfg = ZSSRConfig(scale_factors=((2.0, 2.0), (4.0, 4.0)), back_projection_iters=(1, 2), base_change_scales=(2.0,),
                     max_iters=2, crop_size=16, device="cpu")
    plan = plan_fit(lr, cfg, kernel)
    assert plan.kernel.sum() == pytest.approx(1.0) and plan.config.allow_rotation
    assert [k.shape for k in plan.step_kernels] == [k.shape for k in plan.step_kernels[:1]] * 2
    res = fit(lr, cfg, kernel, final_inference=False)
    assert res.pipeline.scale == (2.0, 2.0) and plan.final_halo == res.pipeline.halo
    np.testing.assert_array_equal(res.output, res.pipeline_input)  # without final inference: the pipeline's input
