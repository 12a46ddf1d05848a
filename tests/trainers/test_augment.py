import numpy as np
import pytest
import torch

from zssr_deploy.trainers.augment import AugmentSettings, sample_father
from zssr_deploy.trainers.config import ZSSRConfig


def settings(**fields):
    """Father-sampling settings: the config's defaults with ``fields`` changed."""
    return AugmentSettings.from_config(ZSSRConfig(**fields))

MODES = {
    "leave_as_is": dict(leave_as_is_probability=1.0, no_interpolate_probability=0.0),
    "no_interp": dict(leave_as_is_probability=0.0, no_interpolate_probability=1.0),
    "affine": dict(leave_as_is_probability=0.0, no_interpolate_probability=0.0),
}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("hw", [(40, 52), (200, 150)])
def test_modes_keep_shape_and_range(mode, hw):
    torch.manual_seed(0)
    src = torch.rand(3, *hw)
    s = settings(**MODES[mode], crop_size=32)
    rng = np.random.default_rng(0)
    for _ in range(20):
        f = sample_father([src], [1.0], 1.0, rng, s)
        assert f.shape[0] == 3 and 8 <= f.shape[1] <= 32 and 8 <= f.shape[2] <= 32
        assert float(f.min()) >= 0.0 and float(f.max()) <= 1.0
        if mode != "affine":  # exact modes move pixels without interpolation
            assert np.isin(f.numpy(), src.numpy()).all()


def test_crop_shrinks_for_small_sources():
    src = torch.rand(1, 20, 30)
    s = settings(**MODES["leave_as_is"], crop_size=128)
    f = sample_father([src], [1.0], 1.0, np.random.default_rng(1), s)
    assert f.shape == (1, 20, 30)


def test_no_rotation_when_disallowed():
    src = torch.arange(40 * 40, dtype=torch.float32).reshape(1, 40, 40) / 1600
    s = settings(**MODES["no_interp"], crop_size=16, allow_rotation=False)
    rng = np.random.default_rng(3)
    for _ in range(10):
        f = sample_father([src], [1.0], 1.0, rng, s)[0]
        # an unrotated, unmirrored crop: values grow by 1 along x and by 40 along y
        assert torch.allclose(torch.diff(f, dim=1), torch.full_like(f[:, 1:], 1 / 1600), atol=1e-6)
        assert torch.allclose(torch.diff(f, dim=0), torch.full_like(f[1:], 40 / 1600), atol=1e-6)


def test_rotations_happen_when_allowed():
    src = torch.arange(40 * 40, dtype=torch.float32).reshape(1, 40, 40) / 1600
    s = settings(**MODES["no_interp"], crop_size=16)
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(40):
        f = sample_father([src], [1.0], 1.0, rng, s)[0]
        seen.add(round(float(f[0, 1] - f[0, 0]) * 1600))
    assert seen >= {1, -1, 40, -40}  # all four orientations of the x axis occur


def test_sources_chosen_by_scale():
    small, big = torch.zeros(1, 40, 40), torch.ones(1, 80, 80)
    s = settings(**MODES["no_interp"], crop_size=16, min_scale=1.5)
    f = sample_father([small, big], [1.0, 2.0], 2.0, np.random.default_rng(0), s)
    assert float(f.min()) == 1.0  # scale in [1.5, 2] needs the x2 source


def test_settings_from_config_carry_every_field_by_name():
    from dataclasses import fields

    from zssr_deploy.trainers.config import ZSSRConfig

    cfg = ZSSRConfig(leave_as_is_probability=0.11, no_interpolate_probability=0.22, min_scale=0.33,
                     scale_diff_sigma=0.44, shear_sigma=0.55, allow_rotation=False, crop_size=66, father_placement="released")
    s = AugmentSettings.from_config(cfg)
    # every AugmentSettings field has a ZSSRConfig field of the same name and value
    assert {f.name: getattr(s, f.name) for f in fields(s)} == {f.name: getattr(cfg, f.name) for f in fields(s)}
    assert s.crop_size == 66 and s.allow_rotation is False


@pytest.mark.parametrize("hw", [(72, 72), (45, 38)])
def test_released_placement_is_the_released_codes_warp(hw):
    """The released code's father geometry (a fixed canvas, scaling about the centre, shift drawn as if the
    edge stayed at 0) against OpenCV's warpPerspective with the same 3x3 matrix, the released code's call:
    identical for the integer modes (zero fill included), within 1e-3 for bicubic affine on a smooth image."""
    import cv2

    from zssr_deploy.trainers.augment import _released_map, _released_warp

    h, w = hw
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = (0.5 + 0.4 * np.sin(xx / 9.0) * np.cos(yy / 7.0)).astype(np.float32)
    noise = np.random.default_rng(1).random((h, w)).astype(np.float32)
    s = settings(crop_size=64, father_placement="released")
    rng = np.random.default_rng(0)
    zero_fill = []
    for mode in ("leave_as_is", "no_interp", "affine"):
        im = smooth if mode == "affine" else noise
        for _ in range(15):
            scale = 1.0 if mode == "leave_as_is" else rng.random() * 0.5 + 0.5
            lin, t, c = _released_map(rng, s, mode, scale, h, w)
            fwd = np.eye(3)
            fwd[:2, :2], fwd[:2, 2] = lin, np.array(c) - np.array(t) - lin @ np.array(c)
            ref = np.clip(cv2.warpPerspective(im, fwd, (64, 64), flags=cv2.INTER_CUBIC), 0, 1)
            ours = _released_warp(torch.from_numpy(im)[None], lin, t, c, 64, exact=mode != "affine")[0].numpy()
            np.testing.assert_allclose(ours, ref, atol=0 if mode != "affine" else 1e-3, rtol=0)
            zero_fill.append(float((ref == 0).mean()))
    assert max(zero_fill) > 0.3  # the comparison covered fathers with large zero-filled parts


def test_released_placement_always_fills_the_canvas_size():
    """Released geometry: every father is crop_size square even from a smaller source (the rest is zeros),
    where the paper's placement shrinks the crop to the source."""
    src = torch.ones(3, 40, 50)
    rng = np.random.default_rng(0)
    for mode in sorted(MODES):
        released = settings(**MODES[mode], crop_size=64, father_placement="released")
        paper = settings(**MODES[mode], crop_size=64)
        for _ in range(10):
            f = sample_father([src], [1.0], 1.0, rng, released)
            assert f.shape == (3, 64, 64) and float(f.min()) >= 0 and float(f.max()) <= 1
            # at least the area the source cannot cover (an affine father may cover up to ~10 % more: shear)
            assert float((f < 0.5).float().mean()) >= 1 - 1.1 * 40 * 50 / 64**2
            assert max(sample_father([src], [1.0], 1.0, rng, paper).shape[1:]) <= 50
