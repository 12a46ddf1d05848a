import numpy as np
import pytest
import torch

from zssr_deploy.trainers.augment import AugmentSettings, sample_father

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
    s = AugmentSettings(**MODES[mode], crop_size=32)
    rng = np.random.default_rng(0)
    for _ in range(20):
        f = sample_father([src], [1.0], 1.0, rng, s)
        assert f.shape[0] == 3 and 8 <= f.shape[1] <= 32 and 8 <= f.shape[2] <= 32
        assert float(f.min()) >= 0.0 and float(f.max()) <= 1.0
        if mode != "affine":  # exact modes move pixels without interpolation
            assert np.isin(f.numpy(), src.numpy()).all()


def test_crop_shrinks_for_small_sources():
    src = torch.rand(1, 20, 30)
    s = AugmentSettings(**MODES["leave_as_is"], crop_size=128)
    f = sample_father([src], [1.0], 1.0, np.random.default_rng(1), s)
    assert f.shape == (1, 20, 30)


def test_no_rotation_when_disallowed():
    src = torch.arange(40 * 40, dtype=torch.float32).reshape(1, 40, 40) / 1600
    s = AugmentSettings(**MODES["no_interp"], crop_size=16, allow_rotation=False)
    rng = np.random.default_rng(3)
    for _ in range(10):
        f = sample_father([src], [1.0], 1.0, rng, s)[0]
        # an unrotated, unmirrored crop: values grow by 1 along x and by 40 along y
        assert torch.allclose(torch.diff(f, dim=1), torch.full_like(f[:, 1:], 1 / 1600), atol=1e-6)
        assert torch.allclose(torch.diff(f, dim=0), torch.full_like(f[1:], 40 / 1600), atol=1e-6)


def test_rotations_happen_when_allowed():
    src = torch.arange(40 * 40, dtype=torch.float32).reshape(1, 40, 40) / 1600
    s = AugmentSettings(**MODES["no_interp"], crop_size=16)
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(40):
        f = sample_father([src], [1.0], 1.0, rng, s)[0]
        seen.add(round(float(f[0, 1] - f[0, 0]) * 1600))
    assert seen >= {1, -1, 40, -40}  # all four orientations of the x axis occur


def test_sources_chosen_by_scale():
    small, big = torch.zeros(1, 40, 40), torch.ones(1, 80, 80)
    s = AugmentSettings(**MODES["no_interp"], crop_size=16, min_scale=1.5)
    f = sample_father([small, big], [1.0, 2.0], 2.0, np.random.default_rng(0), s)
    assert float(f.min()) == 1.0  # scale in [1.5, 2] needs the x2 source


def test_settings_from_config_carry_every_field_by_name():
    from dataclasses import fields

    from zssr_deploy.trainers.config import ZSSRConfig

    cfg = ZSSRConfig(leave_as_is_probability=0.11, no_interpolate_probability=0.22, min_scale=0.33,
                     scale_diff_sigma=0.44, shear_sigma=0.55, allow_rotation=False, crop_size=66)
    s = AugmentSettings.from_config(cfg)
    # every AugmentSettings field has a ZSSRConfig field of the same name and value
    assert {f.name: getattr(s, f.name) for f in fields(s)} == {f.name: getattr(cfg, f.name) for f in fields(s)}
    assert s.crop_size == 66 and s.allow_rotation is False
