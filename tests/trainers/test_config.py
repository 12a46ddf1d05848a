"""Settings of a fit: presets, gradual schedules, the schedule options and the one config the CLI builds."""

import dataclasses

import pytest

from zssr_deploy.errors import ConfigError
from zssr_deploy.trainers.augment import AugmentSettings
from zssr_deploy.trainers.config import PRESETS, ZSSRConfig, build_config, gradual_schedule, parse_scale, parse_schedule
from zssr_deploy.trainers.lr_policy import LearningRatePolicy


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


def test_parse_scale_forms_and_errors():
    assert parse_scale("2") == parse_scale(2) == parse_scale((2, 2)) == (2.0, 2.0)
    assert parse_scale(" 2, 1.5") == (2.0, 1.5)
    for bad in ("x", "2,x", "1,2,3", "nan", "-2", ""):
        with pytest.raises(ConfigError, match="number or 'SY,SX'"):
            parse_scale(bad)
    parse_scale("1")  # the form is fine; the range is the config's business
    with pytest.raises(ConfigError, match="greater than 1"):
        ZSSRConfig().with_scale(parse_scale("1"))
    with pytest.raises(ConfigError, match="too large"):
        ZSSRConfig().with_scale(parse_scale("40"))


def test_parse_schedule_rules():
    assert parse_schedule(None, None, None, (2.0, 2.0)) == {}
    out = parse_schedule("2;3;4", None, None, (4.0, 4.0))
    assert out == {"scale_factors": ((2, 2), (3, 3), (4, 4)), "back_projection_iters": (10, 10, 10),
                   "base_change_scales": ()}  # an explicit schedule: 10 back-projections, no base change
    assert parse_schedule("2;4", "3", "2", (4.0, 4.0))["back_projection_iters"] == (3, 3)  # one N for every step
    assert parse_schedule("2;4", "3", "2", (4.0, 4.0))["base_change_scales"] == (2.0,)
    assert parse_schedule(None, "1,2", None, (2.0, 2.0)) == {"back_projection_iters": (1, 2)}
    with pytest.raises(ConfigError, match="--steps: the last step must equal"):
        parse_schedule("2;3", None, None, (4.0, 4.0))
    with pytest.raises(ConfigError, match="--bp-iters"):
        parse_schedule(None, "a", None, (2.0, 2.0))
    with pytest.raises(ConfigError, match="--base-change"):
        parse_schedule("2;4", None, "two", (4.0, 4.0))


def test_build_config_is_the_one_path_from_options():
    cfg = build_config("gradual", "4", max_iters=7, seed=3, noise_std=None, crop_size=None)
    assert cfg.scale_factors == gradual_schedule((4.0, 4.0))[0] and cfg.base_change_scales == (2.0,)
    assert (cfg.max_iters, cfg.seed, cfg.noise_std, cfg.crop_size) == (7, 3, 0.0, ZSSRConfig.crop_size)
    cfg = build_config("ideal", "2,1.5", steps="1.5,1.5;2,1.5", base_change="1.5")
    assert cfg.scale_factors == ((1.5, 1.5), (2.0, 1.5)) and cfg.relative_scales == ((1.5, 1.5), (2.0 / 1.5, 1.0))
    assert cfg.extra == {"preset": "ideal"}
    with pytest.raises(ConfigError, match="unknown preset"):
        build_config("nope")
    with pytest.raises(ConfigError, match="base change x3"):
        build_config("ideal", 4, steps="2;4", base_change="3")


def test_defaults_live_in_the_config_alone():
    """The augmentation and learning-rate settings have no defaults of their own: both are read from the
    config by field name, so a changed default or field reaches them."""
    for cls in (AugmentSettings, LearningRatePolicy):
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cls) if f.init and f.name not in
                   ("steps", "errors", "changes"))
    cfg = ZSSRConfig(crop_size=40, shear_sigma=0.3, min_iters=11, learning_rate=5e-4)
    aug, policy = AugmentSettings.from_config(cfg), LearningRatePolicy.from_config(cfg)
    assert (aug.crop_size, aug.shear_sigma) == (40, 0.3) and (policy.min_iters, policy.lr) == (11, 5e-4)
    assert ZSSRConfig().precision == "auto"  # the CLI and the API use this default, not one of their own
